// Package passwd hashes dashboard users' passwords with argon2id
// (golang.org/x/crypto/argon2, RFC 9106), in the PHC string format:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// The parameters are OWASP's minimum for argon2id (19 MiB, 2 passes, one
// lane); they are kept in each hash, so they can be raised later without
// breaking the hashes already stored.
package passwd

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/paygate/paygate"
	"golang.org/x/crypto/argon2"
)

// Hasher is a paygate.PasswordHasher.
type Hasher struct {
	Memory  uint32 // KiB; default 19456
	Time    uint32 // passes; default 2
	Threads uint8  // lanes; default 1
}

var _ paygate.PasswordHasher = Hasher{}

const (
	saltLen = 16
	keyLen  = 32
)

var b64 = base64.RawStdEncoding

// Hash returns the encoded hash of password with a new random salt.
func (h Hasher) Hash(password string) (string, error) {
	m, t, p := h.Memory, h.Time, h.Threads
	if m == 0 {
		m = 19456
	}
	if t == 0 {
		t = 2
	}
	if p == 0 {
		p = 1
	}
	salt := make([]byte, saltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, t, m, p, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, m, t, p, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether password matches an encoded hash, comparing in
// constant time.
func (Hasher) Verify(encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("verify password: not an argon2id hash")
	}
	var v int
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false, fmt.Errorf("verify password: version %q", parts[2])
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<21 || t > 20 {
		return false, fmt.Errorf("verify password: parameters %q", parts[3])
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("verify password: salt: %w", err)
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errors.New("verify password: bad hash")
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
