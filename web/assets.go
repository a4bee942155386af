package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var staticFS embed.FS

// asset is an embedded static file, served under a name that carries a
// hash of its content, so that it can be cached for good.
type asset struct {
	body        []byte
	contentType string
}

var (
	assets    = map[string]asset{}  // by versioned name: "style.3f2a9c1b.css"
	assetURLs = map[string]string{} // by file name: "style.css" → "/assets/style.3f2a9c1b.css"
)

func init() {
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		name := path.Base(p)
		ext := path.Ext(name)
		versioned := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:4]) + ext
		assets[versioned] = asset{body: b, contentType: mime.TypeByExtension(ext)}
		assetURLs[name] = "/assets/" + versioned
		return nil
	})
	if err != nil {
		panic(err)
	}
}

// assetURL returns the URL of an embedded file by its name.
func assetURL(name string) string {
	u, ok := assetURLs[name]
	if !ok {
		panic("web: no asset " + name)
	}
	return u
}

// asset serves GET /assets/{name}.
func (h *Handler) asset(w http.ResponseWriter, r *http.Request) {
	a, ok := assets[r.PathValue("name")]
	if !ok {
		h.notFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.contentType)
	hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	w.Write(a.body)
}
