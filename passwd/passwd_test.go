package passwd_test

import (
	"strings"
	"testing"

	"github.com/paygate/paygate/passwd"
)

func TestHashVerify(t *testing.T) {
	h := passwd.Hasher{Memory: 1024, Time: 1}
	enc, err := h.Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=1024,t=1,p=1$") || strings.Contains(enc, "horse") {
		t.Errorf("hash %q", enc)
	}
	if again, _ := h.Hash("correct horse battery staple"); again == enc {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, c := range []struct {
		pw   string
		want bool
	}{{"correct horse battery staple", true}, {"correct horse battery stapl", false}, {"", false}} {
		if ok, err := h.Verify(enc, c.pw); ok != c.want || err != nil {
			t.Errorf("Verify(%q): got %v, %v; want %v", c.pw, ok, err, c.want)
		}
	}
	// The default parameters are in the hash: a hasher with others verifies it.
	def, _ := passwd.Hasher{}.Hash("pw")
	if !strings.Contains(def, "m=19456,t=2,p=1") {
		t.Errorf("default parameters: %q", def)
	}
	if ok, _ := h.Verify(def, "pw"); !ok {
		t.Error("a hash made with other parameters did not verify")
	}
	for _, bad := range []string{"", "$2a$10$abc", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=1024,t=1,p=1$!!$aGFzaA"} {
		if ok, err := h.Verify(bad, "pw"); ok || err == nil {
			t.Errorf("Verify(%q): got %v, %v; want an error", bad, ok, err)
		}
	}
}
