package web

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"image/png"
	"net/url"
	"strings"
	"time"

	"github.com/paygate/paygate"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// The second factor: TOTP (RFC 6238: SHA-1, 6 digits, 30 s), one step of
// clock skew either way, each code accepted once (UserStore.UseTOTPStep).

var totpOpts = totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// enrolSecret is the secret offered to a user who enrols in session
// sessionID: derived from the CSRF key, so that the enrolment page, its QR
// image and the form's answer agree without storing anything until the
// user proves they have it.
func (d *Dashboard) enrolSecret(sessionID, userID string) string {
	m := hmac.New(sha256.New, d.CSRFKey)
	m.Write([]byte("paygate totp enrolment\x00" + sessionID + "\x00" + userID))
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(m.Sum(nil)[:20])
}

// totpStep returns the time step whose code is code, or -1 if no step
// within the skew has it.
func totpStep(secret, code string, now time.Time) int64 {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != 6 {
		return -1
	}
	for _, off := range []int64{0, -1, 1} {
		t := now.Add(time.Duration(off) * 30 * time.Second)
		want, err := totp.GenerateCodeCustom(secret, t, totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return t.Unix() / 30
		}
	}
	return -1
}

// totpURL is the otpauth URL an authenticator app reads.
func totpURL(merchant, email, secret string) string {
	issuer := "paygate " + merchant
	v := url.Values{"secret": {secret}, "issuer": {issuer}, "algorithm": {"SHA1"}, "digits": {"6"}, "period": {"30"}}
	return "otpauth://totp/" + url.PathEscape(issuer+":"+email) + "?" + v.Encode()
}

// totpQR draws the otpauth URL as a PNG QR code.
func totpQR(u string) ([]byte, error) {
	k, err := otp.NewKeyFromURL(u)
	if err != nil {
		return nil, err
	}
	img, err := k.Image(232, 232)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// RecoveryCodes is how many recovery codes a user gets.
const recoveryCodes = 10

// newRecoveryCodes returns codes to show once and their hashes to store.
func newRecoveryCodes() (codes, hashes []string) {
	for range recoveryCodes {
		t := paygate.RandomToken(10)
		codes = append(codes, t[:5]+"-"+t[5:])
		hashes = append(hashes, recoveryHash(t))
	}
	return codes, hashes
}

func recoveryHash(code string) string {
	return paygate.HashToken("recovery\x00" + strings.ToLower(strings.ReplaceAll(strings.TrimSpace(code), "-", "")))
}

// looksLikeRecoveryCode tells a recovery code from a TOTP code.
func looksLikeRecoveryCode(s string) bool {
	return len(strings.ReplaceAll(strings.TrimSpace(s), "-", "")) == 10
}
