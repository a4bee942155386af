package web_test

import (
	"testing"

	"github.com/paygate/paygate/web"
)

func TestInjectBase(t *testing.T) {
	const base = `<base href="https://shop.example/a/paid?x=&#34;">`
	for _, tc := range []struct{ name, page, want string }{
		{"head", `<!doctype html><html><head><title>t</title></head></html>`,
			`<!doctype html><html><head>` + base + `<title>t</title></head></html>`},
		{"head with attributes, upper case", "<HTML><HEAD lang=en>\n<title>t</title>",
			"<HTML><HEAD lang=en>" + base + "\n<title>t</title>"},
		{"header is not head", `<html><body><header>h</header></body></html>`,
			`<html>` + base + `<body><header>h</header></body></html>`},
		{"no head", `<!DOCTYPE html><p>thanks</p>`, `<!DOCTYPE html>` + base + `<p>thanks</p>`},
		{"nothing", `thanks`, base + `thanks`},
		{"unclosed tag", `<head`, base + `<head`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(web.InjectBase([]byte(tc.page), `https://shop.example/a/paid?x="`)); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}
