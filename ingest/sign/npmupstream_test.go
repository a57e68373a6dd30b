package sign

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/sluice-dev/sluice/ingest/fetch"
	"github.com/sluice-dev/sluice/ingest/npm"
	"github.com/sluice-dev/sluice/internal/npmfixture"
	"github.com/sluice-dev/sluice/internal/storetest"
)

// registryKeysDoc builds a keys document in the npm registry's format for
// the given signers, the second one expired at expired.
func registryKeysDoc(t *testing.T, current, old Signer, expired time.Time) []byte {
	t.Helper()
	entry := func(s Signer, expires *time.Time) NPMKey {
		der, err := x509.MarshalPKIXPublicKey(s.Public())
		if err != nil {
			t.Fatal(err)
		}
		return NPMKey{Expires: expires, KeyID: s.KeyID(), KeyType: "ecdsa-sha2-nistp256",
			Scheme: "ecdsa-sha2-nistp256", Key: base64.StdEncoding.EncodeToString(der)}
	}
	data, err := json.Marshal(NPMKeys{Keys: []NPMKey{entry(current, nil), entry(old, &expired)}})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func registrySig(t *testing.T, s Signer, message string) NPMSignature {
	t.Helper()
	raw, err := signSHA256(s, []byte(message))
	if err != nil {
		t.Fatal(err)
	}
	return NPMSignature{KeyID: s.KeyID(), Sig: base64.StdEncoding.EncodeToString(raw)}
}

func TestNPMRegistrySignatures(t *testing.T) {
	db, bs := storetest.Open(t)
	current, old, stranger := newTestSigner(t), newTestSigner(t), newTestSigner(t)
	expired := time.Date(2025, 1, 29, 0, 0, 0, 0, time.UTC)
	if _, _, err := ImportNPMKeys(db, bs, registryKeysDoc(t, current, old, expired), "keys.json", "test"); err != nil {
		t.Fatal(err)
	}
	keys, err := LoadNPMKeys(db, bs)
	if err != nil || keys == nil {
		t.Fatalf("load keys: %v, %v", keys, err)
	}

	const integrity = "sha512-oKnbhFyRIXpUuez8iBMmyEa4nbj4IOQyuhc/wy9kY7/WVPcwIO9VA668Pu8RkO7+0G76SLROeyw9CpQ061i4mA=="
	message := "chalk@4.1.2:" + integrity
	before, after := expired.AddDate(0, -6, 0), expired.AddDate(0, 1, 0)
	cases := []struct {
		name      string
		sigs      []NPMSignature
		published time.Time
		want      error
	}{
		{"current key", []NPMSignature{registrySig(t, current, message)}, after, nil},
		{"old key before expiry", []NPMSignature{registrySig(t, old, message)}, before, nil},
		{"expired key", []NPMSignature{registrySig(t, old, message)}, after, ErrKeyExpired},
		{"wrong key", []NPMSignature{{KeyID: current.KeyID(), Sig: registrySig(t, stranger, message).Sig}}, after, ErrBadSignature},
		{"unknown key", []NPMSignature{registrySig(t, stranger, message)}, after, ErrUnknownKey},
		{"tampered integrity", []NPMSignature{registrySig(t, current, "chalk@4.1.2:sha512-AAAA")}, after, ErrBadSignature},
		{"unsigned", nil, after, ErrNoUpstreamSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := keys.Verify("chalk", "4.1.2", integrity, c.sigs, c.published)
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, expected %v", err, c.want)
			}
			if c.want == ErrKeyExpired && !strings.Contains(err.Error(), "2025-01-29") {
				t.Errorf("message does not give the expiry: %v", err)
			}
		})
	}

	entries, err := db.Ledger("npm")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Type != EntryUpstreamKeysImported {
		t.Errorf("ledger entries for npm: %+v", entries)
	}
}

func TestParseNPMKeysRejects(t *testing.T) {
	rsa := `{"keys":[{"keyid":"x","keytype":"rsa","scheme":"rsa","key":"AAAA"}]}`
	for name, doc := range map[string]string{"empty": `{"keys":[]}`, "rsa": rsa, "not json": `{`,
		"bad key": `{"keys":[{"keyid":"x","keytype":"ecdsa-sha2-nistp256","scheme":"ecdsa-sha2-nistp256","key":"AAAA"}]}`} {
		if _, err := ParseNPMKeys([]byte(doc)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

// signedPackument returns the recorded packument of ms with registry
// signatures added: 2.1.3 signed by key, 2.1.2 signed over another
// integrity, and 2.1.1 left unsigned.
func signedPackument(t *testing.T, key Signer) []byte {
	t.Helper()
	data, err := fs.ReadFile(npmfixture.Recorded(), "ms/packument.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	versions := doc["versions"].(map[string]any)
	for v, integrity := range map[string]string{"2.1.3": "", "2.1.2": "sha512-AAAA"} {
		dist := versions[v].(map[string]any)["dist"].(map[string]any)
		if integrity == "" {
			integrity = dist["integrity"].(string)
		}
		dist["signatures"] = []NPMSignature{registrySig(t, key, "ms@"+v+":"+integrity)}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNPMRegistryCheck(t *testing.T) {
	db, bs := storetest.Open(t)
	current, old := newTestSigner(t), newTestSigner(t)
	keys, _, err := ImportNPMKeys(db, bs, registryKeysDoc(t, current, old, time.Now()), "keys.json", "test")
	if err != nil {
		t.Fatal(err)
	}
	upstream := npmfixture.New(t)
	upstream.SetPackument("ms", signedPackument(t, current))
	reg, err := npm.NewRegistry(upstream.URL, "", fetch.New())
	if err != nil {
		t.Fatal(err)
	}
	check := NPMRegistryCheck{Keys: keys, Registry: reg}
	cases := []struct{ version, id string }{
		{"2.1.3", ""},
		{"2.1.2", FindingInvalid},
		{"2.1.1", FindingMissing},
	}
	for _, c := range cases {
		t.Run(c.version, func(t *testing.T) {
			id, detail, err := check.Check(context.Background(), "ms", c.version)
			if err != nil {
				t.Fatal(err)
			}
			if id != c.id {
				t.Errorf("finding %q (%s), expected %q", id, detail, c.id)
			}
		})
	}
}
