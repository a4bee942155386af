package paygate

// Log attribute keys, shared by every package so that one payment can be
// followed through the logs.
const (
	LogPaymentID  = "payment_id"
	LogMerchantID = "merchant_id"
	LogRequestID  = "request_id"
	LogSTAN       = "stan"
	LogRRN        = "rrn"
	LogRefundID   = "refund_id"
	LogError      = "error"
	LogCard       = "card" // always masked
	LogCode       = "response_code"
	LogKind       = "kind"
)
