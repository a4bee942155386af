package client_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/paygate/paygate/client"
)

// trVectors are the known-answer cases of
// testdata/transparent_redirect.json, computed by transparent_redirect.py
// with Python's hashlib and hmac, independently of our code.
type trVectors struct {
	Hashes []struct {
		Name       string            `json:"name"`
		AccessKey  string            `json:"access_key"`
		HashString string            `json:"hash_string"`
		Fields     map[string]string `json:"fields"`
	} `json:"hashes"`
	Results []struct {
		Name      string `json:"name"`
		Secret    string `json:"secret"`
		Timestamp int64  `json:"timestamp"`
		URL       string `json:"url"`
	} `json:"results"`
}

func mustTRVectors(tb testing.TB) trVectors {
	tb.Helper()
	data, err := os.ReadFile("testdata/transparent_redirect.json")
	if err != nil {
		tb.Fatal(err)
	}
	var v trVectors
	if err := json.Unmarshal(data, &v); err != nil {
		tb.Fatal(err)
	}
	if len(v.Hashes) < 2 || len(v.Results) < 3 {
		tb.Fatalf("got %d hash and %d result vectors, want at least 2 and 3", len(v.Hashes), len(v.Results))
	}
	return v
}

// TransparentRedirectFields gives the fields the independent vectors have,
// hash included, byte for byte.
func TestTransparentRedirectFieldsVectors(t *testing.T) {
	params := []client.TRParams{
		{AccountID: "123456789012", Amount: 12300, Description: "Paygate mug", OrderID: "order-1001",
			SuccessURL: "https://www.example.com/success.aspx", DeclineURL: "https://www.example.com/decline.aspx"},
		{AccountID: "123456789012", Amount: 5, Type: client.TRAuthorization},
	}
	for i, v := range mustTRVectors(t).Hashes {
		t.Run(v.Name, func(t *testing.T) {
			got, err := client.TransparentRedirectFields(params[i], v.AccessKey, time.Unix(1360870400, 0))
			if err != nil {
				t.Fatal(err)
			}
			want := url.Values{}
			for k, s := range v.Fields {
				want.Set(k, s)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("fields:\ngot  %v\nwant %v", got, want)
			}
			if strings.Contains(got.Encode(), v.AccessKey) {
				t.Errorf("the fields hold the access key")
			}
		})
	}
}

func TestTransparentRedirectFieldsRefused(t *testing.T) {
	ok := client.TRParams{AccountID: "acct_1", Amount: 1999, SuccessURL: "https://shop.example.com/ok"}
	for _, tt := range []struct {
		name string
		p    func(p client.TRParams) client.TRParams
		key  string
		says string
	}{
		{"no account", func(p client.TRParams) client.TRParams { p.AccountID = ""; return p }, "k", "AccountID"},
		{"no amount", func(p client.TRParams) client.TRParams { p.Amount = 0; return p }, "k", "Amount"},
		{"unknown type", func(p client.TRParams) client.TRParams { p.Type = "REFUND"; return p }, "k", "Type"},
		{"no key", func(p client.TRParams) client.TRParams { return p }, " ", "access key"},
		{"comma in the description", func(p client.TRParams) client.TRParams { p.Description = "Mug, white"; return p }, "k", "transaction_description"},
		{"comma in a URL", func(p client.TRParams) client.TRParams { p.SuccessURL += "?a=1,2"; return p }, "k", "success_url"},
		{"line break in the order", func(p client.TRParams) client.TRParams { p.OrderID = "A\r\nB"; return p }, "k", "order_id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := client.TransparentRedirectFields(tt.p(ok), tt.key, time.Now())
			if err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("got %v, %v; want an error naming %s", f, err, tt.says)
			}
		})
	}
}

func TestVerifyTransparentRedirect(t *testing.T) {
	vs := mustTRVectors(t)
	want := []client.TRResult{
		{TransactionID: "pay_01jnx5z8k3m9qx2abcdefghjkm", Approved: true, Type: client.TRSale, Amount: 1999,
			OrderID: "tr-5f0c2a91d3e4", AuthorizationCode: "A1B2C3", ConfirmationNumber: "PG-7K3M-9QX2", CardBrand: "visa", CardLast4: "4242"},
		{TransactionID: "pay_01jnx5z8declined0000000000", Type: client.TRSale, Amount: 1999, OrderID: "tr-5f0c2a91d3e5",
			CardBrand: "visa", CardLast4: "0002", ErrorCode: client.CodeCardDeclined, ErrorMessage: "The card was declined: do not honor.",
			DeclineCode: "do_not_honor"},
		{ErrorCode: "incorrect_number", ErrorMessage: "Card number is incorrect.", ErrorParam: "card_number"},
	}
	for i, v := range vs.Results {
		t.Run(v.Name, func(t *testing.T) {
			u, err := url.Parse(v.URL)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			got, err := client.VerifyTransparentRedirect(q, time.Unix(v.Timestamp, 0).Add(time.Minute), v.Secret)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 && got.Params.Get("cart") != "42" {
				t.Errorf("the URL's own parameter: got %q, want 42", got.Params.Get("cart"))
			}
			got.Params = nil
			w := want[i]
			w.Timestamp = time.Unix(v.Timestamp, 0)
			if !reflect.DeepEqual(*got, w) {
				t.Errorf("got  %+v\nwant %+v", *got, w)
			}

			// Changed on the way: refused.
			for _, k := range []string{"transaction_approved", "transaction_amount", "transaction_id", "error_code"} {
				bad := url.Values{}
				for k, v := range q {
					bad[k] = v
				}
				bad.Set(k, "1"+bad.Get(k))
				if _, err := client.VerifyTransparentRedirect(bad, time.Unix(v.Timestamp, 0), v.Secret); !errors.Is(err, client.ErrBadSignature) {
					t.Errorf("%s changed: got %v, want ErrBadSignature", k, err)
				}
			}
			if _, err := client.VerifyTransparentRedirect(q, time.Unix(v.Timestamp, 0).Add(6*time.Minute), v.Secret); !errors.Is(err, client.ErrExpired) {
				t.Errorf("6 minutes later: got %v, want ErrExpired", err)
			}
			other := "whsec_" + strings.Repeat("A", 43) + "="
			if _, err := client.VerifyTransparentRedirect(q, time.Unix(v.Timestamp, 0), other); !errors.Is(err, client.ErrBadSignature) {
				t.Errorf("another secret: got %v, want ErrBadSignature", err)
			}
		})
	}
}
