package iso8583

// Network management messages (0800/0810): sign-on, sign-off, echo.

import (
	"fmt"
	"time"

	"github.com/paygate/paygate"
)

// Management is a network management message: an 0800 request or its 0810
// answer.
type Management struct {
	MTI          string    // MTINetwork or its answer, ResponseMTI(MTINetwork)
	Code         string    // DE70: SignOn, SignOff or Echo
	STAN         string    // DE11
	Time         time.Time // DE7
	ResponseCode string    // DE39, answers only
}

// PackManagement packs a network management message.
func PackManagement(mg Management) ([]byte, error) {
	var f fieldSet
	if err := f.management(mg); err != nil {
		return nil, err
	}
	return f.pack()
}

// management fills f from mg.
func (f *fieldSet) management(mg Management) error {
	if mg.MTI != MTINetwork && mg.MTI != paygate.ResponseMTI(MTINetwork) {
		return fmt.Errorf("iso8583: %q is not a network management MTI", mg.MTI)
	}
	if len(mg.Code) != fieldLength(70) || !isDigits(mg.Code) {
		return fmt.Errorf("iso8583: network management code must be %d digits", fieldLength(70))
	}
	stan, err := padSTAN(mg.STAN)
	if err != nil {
		return err
	}
	t := mg.Time
	if t.IsZero() {
		t = time.Now()
	}
	f.mti = mg.MTI
	f.v[7] = t.UTC().Format("0102150405")
	f.v[11] = stan
	if mg.ResponseCode != "" {
		if err := checkResponseCode(mg.ResponseCode); err != nil {
			return err
		}
		f.v[39] = mg.ResponseCode
	}
	f.v[70] = mg.Code
	return nil
}

// UnpackManagement unpacks a network management message.
func UnpackManagement(b []byte) (mg Management, err error) {
	var f fieldSet
	if err := f.unpack(b); err != nil {
		return Management{}, err
	}
	mg = Management{MTI: f.mti, Code: f.v[70], STAN: f.v[11], ResponseCode: f.v[39]}
	if mg.MTI != MTINetwork && mg.MTI != paygate.ResponseMTI(MTINetwork) {
		return mg, fmt.Errorf("iso8583: %q is not a network management MTI", mg.MTI)
	}
	if de7 := f.v[7]; de7 != "" {
		if mg.Time, err = parseDE7(de7, time.Now()); err != nil {
			return mg, err
		}
	}
	return mg, nil
}
