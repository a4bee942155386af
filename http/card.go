package http

import (
	"net/http"
	"time"

	"github.com/paygate/paygate"
)

type storedCardJSON struct {
	ID     string `json:"id"`
	Object string `json:"object"`
	cardJSON
	Name      string     `json:"name,omitempty"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
}

func newStoredCardJSON(c *paygate.StoredCard) storedCardJSON {
	return storedCardJSON{ID: c.ID, Object: "card", cardJSON: newCardJSON(c.Summary), Name: c.Name, CreatedAt: timePtr(c.CreatedAt)}
}

func (s *Server) createCard(r *http.Request, m *paygate.Merchant, body []byte) (any, error) {
	var req cardRequest
	if err := decode(body, &req, false); err != nil {
		return nil, err
	}
	c, err := s.Gateway.CreateCard(r.Context(), m, *req.card())
	if err != nil {
		return nil, err
	}
	return newStoredCardJSON(c), nil
}

func (s *Server) getCard(r *http.Request, m *paygate.Merchant, _ []byte) (any, error) {
	c, err := s.Gateway.Card(r.Context(), m, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return newStoredCardJSON(c), nil
}
