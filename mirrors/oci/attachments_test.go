package oci

import (
	"reflect"
	"testing"

	"github.com/sluice-dev/sluice/ingest/oci"
	"github.com/sluice-dev/sluice/ingest/state"
)

func TestPublishedAttachments(t *testing.T) {
	upSig := state.Attachment{Digest: "sha256:a", Tag: "sha256-x.sig", Source: oci.SourceUpstream}
	upAtt := state.Attachment{Digest: "sha256:b", Tag: "sha256-x.att", Source: oci.SourceUpstream}
	referrer := state.Attachment{Digest: "sha256:c", Source: oci.SourceUpstream}
	ownSig := state.Attachment{Digest: "sha256:d", Tag: "sha256-x.sig", Source: "sign"}
	tests := []struct {
		name string
		in   []state.Attachment
		want []state.Attachment
	}{
		{"upstream only", []state.Attachment{upSig, upAtt, referrer}, []state.Attachment{upSig, upAtt, referrer}},
		{"merged tag replaces upstream", []state.Attachment{ownSig, upSig, upAtt, referrer},
			[]state.Attachment{ownSig, upAtt, referrer}},
		{"stage attachment only", []state.Attachment{ownSig}, []state.Attachment{ownSig}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := publishedAttachments(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("publishedAttachments = %+v, want %+v", got, tc.want)
			}
		})
	}
}
