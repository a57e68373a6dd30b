package npm

import (
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"testing"
)

func TestHashesVerify(t *testing.T) {
	data := []byte("tarball bytes")
	s512 := sha512.Sum512(data)
	s1 := sha1.Sum(data)
	sri512 := "sha512-" + base64.StdEncoding.EncodeToString(s512[:])
	sri1 := "sha1-" + base64.StdEncoding.EncodeToString(s1[:])
	hex1 := hex.EncodeToString(s1[:])
	other := sha512.Sum512([]byte("other bytes"))
	wrong512 := "sha512-" + base64.StdEncoding.EncodeToString(other[:])

	tests := []struct {
		name, integrity, shasum string
		wantErr                 error
	}{
		{"sha512", sri512, "", nil},
		{"sha512 and shasum", sri512, hex1, nil},
		{"sha1 only", sri1, "", nil},
		{"several entries", sri1 + " " + sri512, "", nil},
		{"unknown algorithm beside sha512", "sha384-AAAA " + sri512, "", nil},
		{"wrong sha512", wrong512, "", ErrIntegrity},
		{"wrong shasum", sri512, "0000000000000000000000000000000000000000", ErrIntegrity},
		{"nothing to check", "", "", ErrIntegrity},
		{"only unknown algorithms", "sha384-AAAA", "", ErrIntegrity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHashes()
			h.SHA512.Write(data)
			h.SHA1.Write(data)
			err := h.Verify(tt.integrity, tt.shasum)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Verify = %v, want %v", err, tt.wantErr)
			}
			if h.Integrity() != sri512 || h.Shasum() != hex1 {
				t.Errorf("Integrity() = %s, Shasum() = %s", h.Integrity(), h.Shasum())
			}
		})
	}
}
