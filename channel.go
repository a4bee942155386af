package paygate

// Channel is how a payment's card reached the gateway, as the card network
// is told (ISO 8583 DE22 POS entry mode, DE25 POS condition code). Wire
// names: add, never rename.
type Channel string

const (
	// ChannelEcommerce: the cardholder typed the card on a web page or the
	// merchant's server sent it (DE22 81x, DE25 59). The default.
	ChannelEcommerce Channel = "ecommerce"
	// ChannelMOTO: a mail or telephone order, keyed in by the merchant on
	// the Virtual Terminal (DE22 01x manual key entry, DE25 08).
	ChannelMOTO Channel = "moto"
)

// Channels lists every channel, in the order they were added.
var Channels = []Channel{ChannelEcommerce, ChannelMOTO}

// Valid reports whether c is a known channel ("" is not).
func (c Channel) Valid() bool { return c == ChannelEcommerce || c == ChannelMOTO }

// Label is the channel as a person reads it.
func (c Channel) Label() string {
	switch c {
	case ChannelMOTO:
		return "Mail/telephone order"
	case ChannelEcommerce:
		return "E-commerce"
	}
	return string(c)
}
