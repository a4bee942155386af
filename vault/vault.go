// Package vault seals card numbers with AES-256-GCM under data keys that are
// themselves wrapped (AES-256-GCM) by a master key kept apart from the
// database, and computes keyed HMAC-SHA-256 fingerprints (PCI DSS 3.5.1.1).
//
// The master key comes from PAYGATE_MASTER_KEY or a key file (mode 0600)
// made on first start. The wrapped data keys live in the database through a
// paygate.KeyStore; a stolen database without the master key reveals no
// card number.
package vault

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/paygate/paygate"
)

// KeySize is the size of master and data keys: 256 bits.
const KeySize = 32

// Vault implements paygate.Vault.
type Vault struct {
	master   cipher.AEAD
	fpKey    []byte
	mu       sync.RWMutex
	active   string
	dataKeys map[string]cipher.AEAD
	keyStore paygate.KeyStore
	loadMu   sync.Mutex // one load of a missing key at a time
}

// loadTimeout bounds the loading of a data key that Open meets and does not
// know (Open has no context of its own).
const loadTimeout = 10 * time.Second

var _ paygate.Vault = (*Vault)(nil)

// Open loads (or, on first use, creates) the data keys from ks, unwrapping
// them with the master key. Of several nodes opening an empty store at once,
// one creates the first key and the others load it.
func Open(ctx context.Context, master []byte, ks paygate.KeyStore) (*Vault, error) {
	if len(master) != KeySize {
		return nil, fmt.Errorf("master key must be %d bytes, got %d", KeySize, len(master))
	}
	m, err := newGCM(derive(master, "paygate key wrapping"))
	if err != nil {
		return nil, err
	}
	v := &Vault{master: m, fpKey: derive(master, "paygate card fingerprint"), dataKeys: map[string]cipher.AEAD{}, keyStore: ks}
	if err := v.load(ctx); err != nil {
		return nil, err
	}
	if v.activeID() == "" {
		if err := v.create(ctx); err != nil && !errors.Is(err, paygate.ErrDuplicate) {
			return nil, err
		}
		if v.activeID() == "" { // another node made the first key
			if err := v.load(ctx); err != nil {
				return nil, err
			}
		}
		if v.activeID() == "" {
			return nil, errors.New("no data key after creating one")
		}
	}
	return v, nil
}

// load adds every stored data key.
func (v *Vault) load(ctx context.Context) error {
	keys, err := v.keyStore.DataKeys(ctx)
	if err != nil {
		return fmt.Errorf("load data keys: %w", err)
	}
	for _, k := range keys {
		if err := v.add(k); err != nil {
			return err
		}
	}
	return nil
}

func (v *Vault) activeID() string {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.active
}

// derive makes a purpose-bound subkey of the master key.
func derive(master []byte, purpose string) []byte {
	h := hmac.New(sha256.New, master)
	h.Write([]byte(purpose))
	return h.Sum(nil)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("new cipher: %w", err)
	}
	return cipher.NewGCM(block)
}

// add unwraps a stored data key. The newest key becomes active.
func (v *Vault) add(k paygate.WrappedKey) error {
	ns := v.master.NonceSize()
	if len(k.Wrapped) < ns {
		return fmt.Errorf("data key %s: too short", k.ID)
	}
	raw, err := v.master.Open(nil, k.Wrapped[:ns], k.Wrapped[ns:], []byte(k.ID))
	if err != nil {
		return fmt.Errorf("unwrap data key %s: wrong master key or damaged key", k.ID)
	}
	aead, err := newGCM(raw)
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.dataKeys[k.ID] = aead
	if k.ID > v.active { // ids sort by creation time
		v.active = k.ID
	}
	return nil
}

// Rotate makes a new data key and seals new cards with it. Old keys stay
// for opening what they sealed. If another node rotated first, the vault
// loads that node's key and rotates after it: a rotation always leaves a key
// newer than every key the store held when it began.
func (v *Vault) Rotate(ctx context.Context) error {
	for range 10 {
		err := v.create(ctx)
		if !errors.Is(err, paygate.ErrDuplicate) {
			return err
		}
		if err := v.load(ctx); err != nil {
			return err
		}
	}
	return errors.New("new data key: other nodes keep rotating at the same time")
}

// create makes a data key to succeed the active one (the first key when
// there is none). It returns ErrDuplicate if another key already succeeds
// it.
func (v *Vault) create(ctx context.Context) error {
	raw := make([]byte, KeySize)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(paygate.TimePrecision)
	active := v.activeID()
	// The newest id is the active key, here and when the keys are loaded
	// again: the new id must sort after the active one even when both are
	// made in the same millisecond (ids are random within it).
	id := paygate.NewID("dk", now)
	for i := 0; id <= active && i < 1000; i++ {
		now = now.Add(time.Millisecond)
		id = paygate.NewID("dk", now)
	}
	if id <= active {
		return fmt.Errorf("new data key: the clock is behind active data key %s", active)
	}
	k := paygate.WrappedKey{ID: id, CreatedAt: now, Prev: active}
	nonce := make([]byte, v.master.NonceSize())
	rand.Read(nonce)
	k.Wrapped = v.master.Seal(nonce, nonce, raw, []byte(k.ID))
	if err := v.keyStore.CreateDataKey(ctx, k); err != nil {
		return fmt.Errorf("store data key: %w", err)
	}
	return v.add(k)
}

// Seal encrypts a card number under the active data key.
func (v *Vault) Seal(pan string) (paygate.EncryptedPAN, error) {
	v.mu.RLock()
	id, aead := v.active, v.dataKeys[v.active]
	v.mu.RUnlock()
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(pan)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return paygate.EncryptedPAN{}, err
	}
	return paygate.EncryptedPAN{KeyID: id, Ciphertext: aead.Seal(nonce, nonce, []byte(pan), []byte(id))}, nil
}

// Open decrypts a sealed card number.
func (v *Vault) Open(e paygate.EncryptedPAN) (string, error) {
	aead, err := v.dataKey(e.KeyID)
	if err != nil {
		return "", fmt.Errorf("open card: %w", err)
	}
	ns := aead.NonceSize()
	if len(e.Ciphertext) < ns {
		return "", errors.New("open card: ciphertext too short")
	}
	pan, err := aead.Open(nil, e.Ciphertext[:ns], e.Ciphertext[ns:], []byte(e.KeyID))
	if err != nil {
		return "", errors.New("open card: authentication failed")
	}
	return string(pan), nil
}

// dataKey returns the data key with the given id, loading it from the store
// if the vault does not know it yet: another node made it (its first key,
// or a rotation).
func (v *Vault) dataKey(id string) (cipher.AEAD, error) {
	v.mu.RLock()
	aead, ok := v.dataKeys[id]
	v.mu.RUnlock()
	if ok {
		return aead, nil
	}
	v.loadMu.Lock()
	defer v.loadMu.Unlock()
	v.mu.RLock()
	aead, ok = v.dataKeys[id]
	v.mu.RUnlock()
	if ok { // loaded while we waited
		return aead, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	k, err := v.keyStore.DataKey(ctx, id)
	if paygate.ErrorCode(err) == paygate.ENOTFOUND {
		// Not the store's error: it is no merchant's business.
		return nil, fmt.Errorf("unknown data key %q", id)
	}
	if err != nil {
		return nil, fmt.Errorf("load data key %s: %w", id, err)
	}
	if k.ID != id {
		return nil, fmt.Errorf("load data key %s: got key %s", id, k.ID)
	}
	if err := v.add(k); err != nil {
		return nil, err
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.dataKeys[id], nil
}

// Fingerprint is a keyed HMAC of the card number: equal for the same card,
// useless without the master key.
func (v *Vault) Fingerprint(pan string) string {
	h := hmac.New(sha256.New, v.fpKey)
	h.Write([]byte(pan))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// ParseMasterKey reads a 32-byte key given as 64 hex characters or base64.
func ParseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == KeySize {
			return b, nil
		}
	}
	return nil, errors.New("master key must be 32 bytes as 64 hex characters or base64")
}

// LoadOrCreateKeyFile reads the master key from path, or makes a new random
// one there with mode 0600 if the file does not exist. created says which.
func LoadOrCreateKeyFile(path string) (key []byte, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		fi, serr := os.Stat(path)
		if serr == nil && fi.Mode().Perm()&0o077 != 0 {
			return nil, false, fmt.Errorf("master key file %s is readable by others (mode %v); chmod 600 it", path, fi.Mode().Perm())
		}
		key, err = ParseMasterKey(string(b))
		return key, false, err
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("read master key: %w", err)
	}
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("create master key file: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("write master key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, false, fmt.Errorf("write master key file: %w", err)
	}
	return key, true, nil
}
