package vault_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/vault"
)

// keyStore is an in-memory paygate.KeyStore.
type keyStore struct {
	mu        sync.Mutex
	keys      []paygate.WrappedKey
	loadErr   error
	createErr error
}

func (ks *keyStore) DataKeys(ctx context.Context) ([]paygate.WrappedKey, error) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if ks.loadErr != nil {
		return nil, ks.loadErr
	}
	out := make([]paygate.WrappedKey, len(ks.keys))
	for i, k := range ks.keys {
		k.Wrapped = bytes.Clone(k.Wrapped)
		out[i] = k
	}
	return out, nil
}

func (ks *keyStore) DataKey(ctx context.Context, id string) (paygate.WrappedKey, error) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if ks.loadErr != nil {
		return paygate.WrappedKey{}, ks.loadErr
	}
	for _, k := range ks.keys {
		if k.ID == id {
			k.Wrapped = bytes.Clone(k.Wrapped)
			return k, nil
		}
	}
	return paygate.WrappedKey{}, paygate.Errorf(paygate.ENOTFOUND, "No such data key: %s.", id)
}

// CreateDataKey keeps one key per Prev, as the stores do.
func (ks *keyStore) CreateDataKey(ctx context.Context, k paygate.WrappedKey) error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if ks.createErr != nil {
		return ks.createErr
	}
	for _, o := range ks.keys {
		if o.Prev == k.Prev || o.ID == k.ID {
			return fmt.Errorf("insert data key: %w", paygate.ErrDuplicate)
		}
	}
	k.Wrapped = bytes.Clone(k.Wrapped)
	ks.keys = append(ks.keys, k)
	return nil
}

func (ks *keyStore) len() int {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	return len(ks.keys)
}

var _ paygate.KeyStore = (*keyStore)(nil)

// MustMasterKey returns a new random master key.
func MustMasterKey(tb testing.TB) []byte {
	tb.Helper()
	key := make([]byte, vault.KeySize)
	if _, err := rand.Read(key); err != nil {
		tb.Fatal(err)
	}
	return key
}

// MustOpen opens a vault over ks.
func MustOpen(tb testing.TB, master []byte, ks paygate.KeyStore) *vault.Vault {
	tb.Helper()
	v, err := vault.Open(context.Background(), master, ks)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return v
}

// MustSeal seals pan.
func MustSeal(tb testing.TB, v *vault.Vault, pan string) paygate.EncryptedPAN {
	tb.Helper()
	e, err := v.Seal(pan)
	if err != nil {
		tb.Fatalf("Seal: %v", err)
	}
	return e
}

// MustOpenPAN opens e and checks it holds want.
func MustOpenPAN(tb testing.TB, v *vault.Vault, e paygate.EncryptedPAN, want string) {
	tb.Helper()
	got, err := v.Open(e)
	if err != nil {
		tb.Fatalf("Open(key %s): %v", e.KeyID, err)
	}
	if got != want {
		tb.Fatalf("Open(key %s): got %q, want %q", e.KeyID, got, want)
	}
}

func TestOpenCreatesOneDataKey(t *testing.T) {
	ks := &keyStore{}
	MustOpen(t, MustMasterKey(t), ks)
	if got := ks.len(); got != 1 {
		t.Fatalf("data keys after first Open: got %d, want 1", got)
	}
	k := ks.keys[0]
	if !strings.HasPrefix(k.ID, "dk_") || k.CreatedAt.IsZero() || len(k.Wrapped) == 0 {
		t.Errorf("data key: got %+v, want an id dk_..., a creation time and wrapped bytes", k)
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	v := MustOpen(t, MustMasterKey(t), &keyStore{})
	for _, pan := range []string{"4242424242424242", "378282246310005", "6011111111111117", "4000000000000000006", "", "x"} {
		e := MustSeal(t, v, pan)
		if e.KeyID == "" {
			t.Errorf("Seal(%q): got empty KeyID", pan)
		}
		if len(pan) >= 12 && bytes.Contains(e.Ciphertext, []byte(pan)) {
			t.Errorf("Seal(%q): ciphertext %x contains the number", pan, e.Ciphertext)
		}
		MustOpenPAN(t, v, e, pan)
	}
}

func TestSealIsRandomized(t *testing.T) {
	v := MustOpen(t, MustMasterKey(t), &keyStore{})
	const pan = "4242424242424242"
	a, b := MustSeal(t, v, pan), MustSeal(t, v, pan)
	if bytes.Equal(a.Ciphertext, b.Ciphertext) {
		t.Errorf("two seals of the same number: got %x twice, want different ciphertexts", a.Ciphertext)
	}
	if a.KeyID != b.KeyID {
		t.Errorf("KeyID: got %q and %q, want the same active key", a.KeyID, b.KeyID)
	}
}

func TestReopen(t *testing.T) {
	const pan = "4242424242424242"
	master, ks := MustMasterKey(t), &keyStore{}
	v1 := MustOpen(t, master, ks)
	e := MustSeal(t, v1, pan)
	fp := v1.Fingerprint(pan)

	v2 := MustOpen(t, master, ks)
	if got := ks.len(); got != 1 {
		t.Errorf("data keys after second Open: got %d, want 1", got)
	}
	MustOpenPAN(t, v2, e, pan)
	if got := v2.Fingerprint(pan); got != fp {
		t.Errorf("Fingerprint after reopening: got %q, want %q", got, fp)
	}
	if got := MustSeal(t, v2, pan).KeyID; got != e.KeyID {
		t.Errorf("KeyID after reopening: got %q, want %q", got, e.KeyID)
	}
}

func TestFingerprint(t *testing.T) {
	const pan = "4242424242424242"
	master := MustMasterKey(t)
	v := MustOpen(t, master, &keyStore{})
	fp := v.Fingerprint(pan)
	if len(fp) != 32 {
		t.Errorf("Fingerprint length: got %d (%q), want 32 hex characters", len(fp), fp)
	}
	if _, err := hex.DecodeString(fp); err != nil {
		t.Errorf("Fingerprint %q: got %v, want hex", fp, err)
	}
	if strings.Contains(fp, pan) || strings.Contains(fp, pan[len(pan)-4:]) && strings.Contains(fp, pan[:6]) {
		t.Errorf("Fingerprint %q shows the number", fp)
	}
	if got := v.Fingerprint(pan); got != fp {
		t.Errorf("Fingerprint twice: got %q, want %q", got, fp)
	}
	if got := v.Fingerprint("5555555555554444"); got == fp {
		t.Errorf("Fingerprint of another number: got %q, want different from %q", got, fp)
	}
	// The same master key over another key store: the fingerprint depends
	// only on the master key.
	if got := MustOpen(t, master, &keyStore{}).Fingerprint(pan); got != fp {
		t.Errorf("Fingerprint, same master key, new key store: got %q, want %q", got, fp)
	}
	if got := MustOpen(t, MustMasterKey(t), &keyStore{}).Fingerprint(pan); got == fp {
		t.Errorf("Fingerprint under another master key: got %q, want different from %q", got, fp)
	}
}

func TestOpenWrongMasterKey(t *testing.T) {
	master, ks := MustMasterKey(t), &keyStore{}
	MustOpen(t, master, ks)
	wrong := MustMasterKey(t)
	v, err := vault.Open(context.Background(), wrong, ks)
	if err == nil {
		t.Fatalf("Open with another master key: got a vault %v, want an error", v)
	}
	msg := err.Error()
	for _, key := range [][]byte{master, wrong} {
		for _, s := range []string{
			string(key), hex.EncodeToString(key), strings.ToUpper(hex.EncodeToString(key)),
			base64.StdEncoding.EncodeToString(key), base64.RawURLEncoding.EncodeToString(key),
			hex.EncodeToString(key[:8]),
		} {
			if strings.Contains(msg, s) {
				t.Errorf("error %q contains key bytes", msg)
			}
		}
	}
	if got := ks.len(); got != 1 {
		t.Errorf("data keys after failed Open: got %d, want 1", got)
	}
}

func TestOpenBadMasterKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		key := make([]byte, n)
		if _, err := vault.Open(context.Background(), key, &keyStore{}); err == nil {
			t.Errorf("Open with a %d-byte master key: got nil, want an error", n)
		}
	}
}

func TestOpenKeyStoreErrors(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		ks   *keyStore
	}{
		{"load", &keyStore{loadErr: boom}},
		{"create", &keyStore{createErr: boom}},
	}
	for _, tt := range tests {
		_, err := vault.Open(context.Background(), MustMasterKey(t), tt.ks)
		if !errors.Is(err, boom) {
			t.Errorf("%s: got %v, want it to wrap %v", tt.name, err, boom)
		}
	}
}

func TestOpenDamagedDataKey(t *testing.T) {
	master, ks := MustMasterKey(t), &keyStore{}
	MustOpen(t, master, ks)
	ks.keys[0].Wrapped[len(ks.keys[0].Wrapped)-1] ^= 1
	if _, err := vault.Open(context.Background(), master, ks); err == nil {
		t.Errorf("Open with a damaged data key: got nil, want an error")
	}
	ks.keys[0].Wrapped = ks.keys[0].Wrapped[:4]
	if _, err := vault.Open(context.Background(), master, ks); err == nil {
		t.Errorf("Open with a truncated data key: got nil, want an error")
	}
}

func TestRotate(t *testing.T) {
	// Repeated, because a rotation right after Open happens within the
	// same millisecond as the first key was made.
	for i := 0; i < 50; i++ {
		const pan = "4242424242424242"
		master, ks := MustMasterKey(t), &keyStore{}
		v := MustOpen(t, master, ks)
		old := MustSeal(t, v, pan)
		fp := v.Fingerprint(pan)

		if err := v.Rotate(context.Background()); err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		if got := ks.len(); got != 2 {
			t.Fatalf("data keys after Rotate: got %d, want 2", got)
		}
		newID := ks.keys[1].ID
		fresh := MustSeal(t, v, pan)
		if fresh.KeyID != newID {
			t.Fatalf("KeyID after Rotate (try %d): got %q, want the new key %q (old %q)", i, fresh.KeyID, newID, old.KeyID)
		}
		MustOpenPAN(t, v, old, pan)
		MustOpenPAN(t, v, fresh, pan)
		if got := v.Fingerprint(pan); got != fp {
			t.Fatalf("Fingerprint after Rotate: got %q, want %q", got, fp)
		}

		// A vault opened later can open both and seals with the new key.
		v2 := MustOpen(t, master, ks)
		MustOpenPAN(t, v2, old, pan)
		MustOpenPAN(t, v2, fresh, pan)
		if got := MustSeal(t, v2, pan).KeyID; got != newID {
			t.Fatalf("KeyID after reopening (try %d): got %q, want the newest key %q", i, got, newID)
		}
	}
}

// TestRotateOnAnotherVault rotates on one vault (a node) and opens what the
// new key sealed on another vault of the same store, opened before the
// rotation: it loads the key it does not know.
func TestRotateOnAnotherVault(t *testing.T) {
	const pan = "4242424242424242"
	master, ks := MustMasterKey(t), &keyStore{}
	a, b := MustOpen(t, master, ks), MustOpen(t, master, ks)
	old := MustSeal(t, a, pan)
	if err := a.Rotate(context.Background()); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	fresh := MustSeal(t, a, pan)
	if fresh.KeyID == old.KeyID {
		t.Fatalf("KeyID after Rotate: got the old key %q", fresh.KeyID)
	}
	MustOpenPAN(t, b, old, pan)
	MustOpenPAN(t, b, fresh, pan)
	// b now seals with the newest key it knows, and rotating on b makes a
	// key after it.
	if got := MustSeal(t, b, pan).KeyID; got != fresh.KeyID {
		t.Errorf("b's KeyID after meeting a's new key: got %q, want %q", got, fresh.KeyID)
	}
	if err := b.Rotate(context.Background()); err != nil {
		t.Fatalf("Rotate on b: %v", err)
	}
	third := MustSeal(t, b, pan)
	MustOpenPAN(t, a, third, pan)
	if got := ks.len(); got != 3 {
		t.Errorf("data keys: got %d, want 3", got)
	}
}

// TestRotateStale rotates on a vault that missed another's rotation: the
// store refuses a second successor of the same key, and the vault rotates
// after the newest key instead.
func TestRotateStale(t *testing.T) {
	const pan = "4242424242424242"
	master, ks := MustMasterKey(t), &keyStore{}
	a, b := MustOpen(t, master, ks), MustOpen(t, master, ks)
	if err := a.Rotate(context.Background()); err != nil {
		t.Fatalf("Rotate on a: %v", err)
	}
	if err := b.Rotate(context.Background()); err != nil {
		t.Fatalf("Rotate on b (stale): %v", err)
	}
	if got := ks.len(); got != 3 {
		t.Fatalf("data keys: got %d, want 3", got)
	}
	newest := ks.keys[2]
	if newest.Prev != ks.keys[1].ID || ks.keys[1].Prev != ks.keys[0].ID || ks.keys[0].Prev != "" {
		t.Errorf("key chain: got %s←%s←%s, want each key to succeed the one before", ks.keys[0].Prev, ks.keys[1].Prev, newest.Prev)
	}
	if got := MustSeal(t, b, pan).KeyID; got != newest.ID {
		t.Errorf("b's KeyID: got %q, want the newest key %q", got, newest.ID)
	}
	MustOpenPAN(t, a, MustSeal(t, b, pan), pan)
}

// TestOpenTogether opens several vaults on one empty store at once: one
// makes the first key and every vault seals with it.
func TestOpenTogether(t *testing.T) {
	const n = 8
	master, ks := MustMasterKey(t), &keyStore{}
	// Every vault has read the (empty) store before any creates a key.
	blocked := &barrierStore{keyStore: ks, n: n, all: make(chan struct{})}
	vs := make([]*vault.Vault, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { vs[i], errs[i] = vault.Open(context.Background(), master, blocked) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open #%d: %v", i, err)
		}
	}
	if got := ks.len(); got != 1 {
		t.Errorf("data keys after %d Opens at once: got %d, want 1", n, got)
	}
	const pan = "4242424242424242"
	for i, v := range vs {
		e := MustSeal(t, v, pan)
		if e.KeyID != ks.keys[0].ID {
			t.Errorf("vault #%d seals with %q, want the one key %q", i, e.KeyID, ks.keys[0].ID)
		}
		for _, w := range vs {
			MustOpenPAN(t, w, e, pan)
		}
	}
}

// barrierStore holds every DataKeys call until n of them have been made.
type barrierStore struct {
	*keyStore
	mu    sync.Mutex
	n     int
	calls int
	all   chan struct{}
}

func (b *barrierStore) DataKeys(ctx context.Context) ([]paygate.WrappedKey, error) {
	keys, err := b.keyStore.DataKeys(ctx)
	b.mu.Lock()
	if b.calls++; b.calls == b.n {
		close(b.all)
	}
	b.mu.Unlock()
	<-b.all
	return keys, err
}

func TestRotateRepeatedly(t *testing.T) {
	const pan = "4242424242424242"
	master, ks := MustMasterKey(t), &keyStore{}
	v := MustOpen(t, master, ks)
	sealed := []paygate.EncryptedPAN{MustSeal(t, v, pan)}
	for i := 0; i < 10; i++ {
		if err := v.Rotate(context.Background()); err != nil {
			t.Fatalf("Rotate %d: %v", i, err)
		}
		e := MustSeal(t, v, pan)
		if want := ks.keys[len(ks.keys)-1].ID; e.KeyID != want {
			t.Fatalf("KeyID after Rotate %d: got %q, want %q", i, e.KeyID, want)
		}
		if prev := sealed[len(sealed)-1].KeyID; e.KeyID <= prev {
			t.Fatalf("key ids after Rotate %d: got %q after %q, want increasing", i, e.KeyID, prev)
		}
		sealed = append(sealed, e)
	}
	v2 := MustOpen(t, master, ks)
	for _, e := range sealed {
		MustOpenPAN(t, v2, e, pan)
	}
}

func TestOpenTampered(t *testing.T) {
	const pan = "4242424242424242"
	ks := &keyStore{}
	v := MustOpen(t, MustMasterKey(t), ks)
	other := MustSeal(t, v, "5555555555554444")
	if err := v.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := MustSeal(t, v, pan)
	flip := func(i int) paygate.EncryptedPAN {
		c := bytes.Clone(e.Ciphertext)
		c[i] ^= 0x01
		return paygate.EncryptedPAN{KeyID: e.KeyID, Ciphertext: c}
	}
	tests := []struct {
		name string
		e    paygate.EncryptedPAN
	}{
		{"nonce flipped", flip(0)},
		{"body flipped", flip(len(e.Ciphertext) / 2)},
		{"tag flipped", flip(len(e.Ciphertext) - 1)},
		{"truncated", paygate.EncryptedPAN{KeyID: e.KeyID, Ciphertext: e.Ciphertext[:len(e.Ciphertext)-1]}},
		{"shorter than a nonce", paygate.EncryptedPAN{KeyID: e.KeyID, Ciphertext: e.Ciphertext[:5]}},
		{"empty", paygate.EncryptedPAN{KeyID: e.KeyID}},
		{"appended", paygate.EncryptedPAN{KeyID: e.KeyID, Ciphertext: append(bytes.Clone(e.Ciphertext), 0)}},
		{"unknown key", paygate.EncryptedPAN{KeyID: "dk_unknown", Ciphertext: e.Ciphertext}},
		{"empty key id", paygate.EncryptedPAN{Ciphertext: e.Ciphertext}},
		{"other existing key", paygate.EncryptedPAN{KeyID: other.KeyID, Ciphertext: e.Ciphertext}},
	}
	for _, tt := range tests {
		got, err := v.Open(tt.e)
		if err == nil {
			t.Errorf("%s: got %q, nil, want an error", tt.name, got)
			continue
		}
		if got != "" || strings.Contains(err.Error(), pan) {
			t.Errorf("%s: got %q, %v, want nothing of the number", tt.name, got, err)
		}
	}
}

func TestConcurrentSealOpenRotate(t *testing.T) {
	v := MustOpen(t, MustMasterKey(t), &keyStore{})
	const pan = "4242424242424242"
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				e, err := v.Seal(pan)
				if err != nil {
					errs <- err
					return
				}
				got, err := v.Open(e)
				if err != nil || got != pan {
					errs <- errors.New("round trip failed")
					return
				}
			}
		}()
	}
	for i := 0; i < 5; i++ {
		if err := v.Rotate(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestParseMasterKey(t *testing.T) {
	key := make([]byte, vault.KeySize)
	for i := range key {
		key[i] = byte(i*7 + 3)
	}
	short, long := key[:31], append(bytes.Clone(key), 0)
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"hex", hex.EncodeToString(key), true},
		{"hex upper", strings.ToUpper(hex.EncodeToString(key)), true},
		{"hex with newline", hex.EncodeToString(key) + "\n", true},
		{"hex with spaces", "  " + hex.EncodeToString(key) + " \t", true},
		{"base64 std", base64.StdEncoding.EncodeToString(key), true},
		{"base64 raw std", base64.RawStdEncoding.EncodeToString(key), true},
		{"base64 url", base64.URLEncoding.EncodeToString(key), true},
		{"base64 raw url", base64.RawURLEncoding.EncodeToString(key), true},
		{"empty", "", false},
		{"spaces", "   ", false},
		{"not hex", strings.Repeat("zz", 32), false},
		{"hex 31 bytes", hex.EncodeToString(short), false},
		{"hex 33 bytes", hex.EncodeToString(long), false},
		{"hex odd length", hex.EncodeToString(key)[:63], false},
		{"base64 31 bytes", base64.StdEncoding.EncodeToString(short), false},
		{"base64 33 bytes", base64.StdEncoding.EncodeToString(long), false},
		{"raw bytes", string(key), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := vault.ParseMasterKey(tt.in)
			if !tt.ok {
				if err == nil {
					t.Fatalf("got %x, nil, want an error", got)
				}
				if trimmed := strings.TrimSpace(tt.in); trimmed != "" && strings.Contains(err.Error(), trimmed) {
					t.Errorf("error %q contains the input", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v, want nil", err)
			}
			if !bytes.Equal(got, key) {
				t.Errorf("got %x, want %x", got, key)
			}
		})
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	key, created, err := vault.LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatalf("first LoadOrCreateKeyFile: %v", err)
	}
	if !created || len(key) != vault.KeySize {
		t.Fatalf("first LoadOrCreateKeyFile: got %d bytes, created %v, want %d bytes, created true", len(key), created, vault.KeySize)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("mode: got %v, want %v", got, os.FileMode(0o600))
	}
	again, created, err := vault.LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatalf("second LoadOrCreateKeyFile: %v", err)
	}
	if created || !bytes.Equal(again, key) {
		t.Errorf("second LoadOrCreateKeyFile: got %x, created %v, want %x, created false", again, created, key)
	}
	// The file is the key a person can also pass in PAYGATE_MASTER_KEY.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if parsed, err := vault.ParseMasterKey(string(b)); err != nil || !bytes.Equal(parsed, key) {
		t.Errorf("ParseMasterKey(file): got %x, %v, want %x, nil", parsed, err, key)
	}
	// Two vaults over the same key file and key store agree.
	ks := &keyStore{}
	e := MustSeal(t, MustOpen(t, key, ks), "4242424242424242")
	MustOpenPAN(t, MustOpen(t, again, ks), e, "4242424242424242")
}

func TestLoadOrCreateKeyFileRefusesOpenModes(t *testing.T) {
	key := hex.EncodeToString(MustMasterKey(t)) + "\n"
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o666} {
		path := filepath.Join(t.TempDir(), "master.key")
		if err := os.WriteFile(path, []byte(key), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		got, created, err := vault.LoadOrCreateKeyFile(path)
		if err == nil || got != nil || created {
			t.Errorf("mode %v: got %x, created %v, err %v, want an error", mode, got, created, err)
			continue
		}
		if strings.Contains(err.Error(), strings.TrimSpace(key)) {
			t.Errorf("mode %v: error %q contains the key", mode, err)
		}
	}
}

func TestLoadOrCreateKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.key")
	if err := os.WriteFile(bad, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{bad, filepath.Join(dir, "missing", "master.key")} {
		if key, _, err := vault.LoadOrCreateKeyFile(path); err == nil {
			t.Errorf("LoadOrCreateKeyFile(%s): got %x, nil, want an error", path, key)
		}
	}
}

func FuzzParseMasterKey(f *testing.F) {
	key := bytes.Repeat([]byte{0xab}, vault.KeySize)
	for _, s := range []string{
		"", hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key), base64.RawURLEncoding.EncodeToString(key),
		" \n", "zz", hex.EncodeToString(key[:31]),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := vault.ParseMasterKey(s)
		if err != nil {
			if got != nil {
				t.Fatalf("got %x with error %v, want nil", got, err)
			}
			return
		}
		if len(got) != vault.KeySize {
			t.Fatalf("got %d bytes, want %d", len(got), vault.KeySize)
		}
	})
}
