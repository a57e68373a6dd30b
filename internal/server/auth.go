package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// Role is what an identity may do through the API.
type Role string

// Roles. Approving also needs membership of the policy's approval chain,
// which the approvals package checks by identity.
const (
	RoleRequester Role = "requester"
	RoleApprover  Role = "approver"
	RoleSecurity  Role = "security"
	RoleAuditor   Role = "auditor"
	RoleAdmin     Role = "admin"
)

// AllRoles lists every role.
var AllRoles = []Role{RoleRequester, RoleApprover, RoleSecurity, RoleAuditor, RoleAdmin}

func (r Role) valid() bool { return slices.Contains(AllRoles, r) }

// Identity is an authenticated caller.
type Identity struct {
	Name  string
	Roles []Role
	// Via is "oidc" or "token".
	Via string
}

// Has reports whether the identity holds any of roles.
func (id *Identity) Has(roles ...Role) bool {
	return slices.ContainsFunc(id.Roles, func(r Role) bool { return slices.Contains(roles, r) })
}

// ErrUnauthenticated is returned for a missing, malformed, expired or
// unverifiable credential.
var ErrUnauthenticated = errors.New("unauthenticated")

// authenticator verifies bearer tokens: static API tokens by hash, and
// OIDC ID or access tokens (JWTs) by signature, issuer, audience and
// expiry against keys read from a JWKS file.
type authenticator struct {
	tokens   []StaticToken
	verifier *oidc.IDTokenVerifier
	oidc     *OIDCConfig
}

func newAuthenticator(c *Config) (*authenticator, error) {
	a := &authenticator{tokens: c.Tokens, oidc: c.OIDC}
	if c.OIDC == nil {
		return a, nil
	}
	data, err := os.ReadFile(c.OIDC.JWKSFile)
	if err != nil {
		return nil, fmt.Errorf("oidc: read jwksFile: %w", err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("oidc: jwksFile %s is not a JSON Web Key Set: %w", c.OIDC.JWKSFile, err)
	}
	keys := &oidc.StaticKeySet{}
	for _, k := range set.Keys {
		if k.Use == "" || k.Use == "sig" {
			keys.PublicKeys = append(keys.PublicKeys, k.Public().Key)
		}
	}
	if len(keys.PublicKeys) == 0 {
		return nil, fmt.Errorf("oidc: jwksFile %s has no signing keys", c.OIDC.JWKSFile)
	}
	a.verifier = oidc.NewVerifier(c.OIDC.Issuer, keys, &oidc.Config{ClientID: c.OIDC.Audience,
		SupportedSigningAlgs: []string{oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384,
			oidc.ES512, oidc.PS256, oidc.EdDSA}})
	return a, nil
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// authenticate returns the identity a token stands for.
func (a *authenticator) authenticate(ctx context.Context, token string) (*Identity, error) {
	sum := sha256.Sum256([]byte(token))
	for _, t := range a.tokens {
		want, _ := hex.DecodeString(t.SHA256)
		if subtle.ConstantTimeCompare(sum[:], want) == 1 {
			return &Identity{Name: t.Name, Roles: t.Roles, Via: "token"}, nil
		}
	}
	if a.verifier == nil || strings.Count(token, ".") != 2 {
		return nil, fmt.Errorf("%w: unknown API token", ErrUnauthenticated)
	}
	idt, err := a.verifier.Verify(ctx, token)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnauthenticated, err)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", ErrUnauthenticated, err)
	}
	id := &Identity{Via: "oidc", Name: a.identityOf(claims, idt.Subject)}
	if id.Name == "" {
		return nil, fmt.Errorf("%w: the token names no identity", ErrUnauthenticated)
	}
	id.Roles = a.rolesOf(claims)
	return id, nil
}

func (a *authenticator) identityOf(claims map[string]any, subject string) string {
	name := a.oidc.IdentityClaim
	if name == "" {
		name = "preferred_username"
	}
	if s, ok := claims[name].(string); ok && s != "" {
		return s
	}
	return subject
}

// rolesOf maps the values of the roles claim to roles.
func (a *authenticator) rolesOf(claims map[string]any) []Role {
	path := a.oidc.RolesClaim
	if path == "" {
		path = "groups"
	}
	var v any = claims
	for _, part := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[part]
	}
	var values []string
	switch x := v.(type) {
	case string:
		values = []string{x}
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				values = append(values, s)
			}
		}
	}
	var roles []Role
	for _, val := range values {
		role, ok := a.oidc.RoleMap[val]
		if !ok && Role(val).valid() {
			role, ok = Role(val), true
		}
		if ok && !slices.Contains(roles, role) {
			roles = append(roles, role)
		}
	}
	return roles
}
