package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

var (
	docOnce   sync.Once
	docRouter routers.Router
	docModel  *openapi3.T
	docErr    error
)

func openAPIRouter(t testing.TB) (routers.Router, *openapi3.T) {
	t.Helper()
	docOnce.Do(func() {
		loader := openapi3.NewLoader()
		docModel, docErr = loader.LoadFromData(openAPIDocument)
		if docErr != nil {
			return
		}
		if docErr = docModel.Validate(context.Background()); docErr != nil {
			return
		}
		docRouter, docErr = legacy.NewRouter(docModel)
		for _, ct := range []string{"application/x-ndjson", "text/markdown", "application/yaml"} {
			openapi3filter.RegisterBodyDecoder(ct, decodeText)
		}
	})
	if docErr != nil {
		t.Fatalf("openapi.yaml: %v", docErr)
	}
	return docRouter, docModel
}

// decodeText decodes a text response body as one string.
func decodeText(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	data, err := io.ReadAll(body)
	return string(data), err
}

// validateResponse checks an API response against the operation's
// response schema in the OpenAPI document. Paths outside /api/v1 are not
// described there.
func validateResponse(t testing.TB, req *http.Request, resp *http.Response, body []byte) {
	t.Helper()
	if !strings.HasPrefix(req.URL.Path, "/api/v1/") {
		return
	}
	router, _ := openAPIRouter(t)
	// The router splits the unescaped path on '/', so an escaped artifact
	// key must stay escaped for it to be one path parameter.
	match := req.Clone(context.Background())
	match.URL = &url.URL{Path: req.URL.EscapedPath(), RawQuery: req.URL.RawQuery}
	route, params, err := router.FindRoute(match)
	if err != nil {
		t.Errorf("%s %s: not in the OpenAPI document: %v", req.Method, req.URL.Path, err)
		return
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: match, PathParams: params,
			Route: route, Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		t.Errorf("%s %s: response %d does not match the OpenAPI document: %v\n%s", req.Method, req.URL.Path,
			resp.StatusCode, err, body)
	}
}

// TestOpenAPIMatchesRoutes checks that every registered API route is in
// the document and every documented operation is registered.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	_, doc := openAPIRouter(t)
	s := &Server{}
	var registered []string
	for _, rt := range s.apiRoutes() {
		registered = append(registered, rt.method+" "+rt.path)
	}
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	for _, r := range registered {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in openapi.yaml", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(registered, d) {
			t.Errorf("openapi.yaml documents %s, which no route serves", d)
		}
	}
}

// TestPluginRequestBodyMatchesSchema checks that the document's plugin
// request body has the properties and required fields of Sluice's plugin
// request schema, at the top level and in plugin and app.
func TestPluginRequestBodyMatchesSchema(t *testing.T) {
	_, doc := openAPIRouter(t)
	data, err := os.ReadFile("../../manifests/schema/plugin-request.v1.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	type jsonSchema struct {
		Required   []string                   `json:"required"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	var top jsonSchema
	if err := json.Unmarshal(data, &top); err != nil {
		t.Fatal(err)
	}
	body := doc.Components.Schemas["PluginRequestBody"].Value
	compare := func(path string, want jsonSchema, got *openapi3.Schema) {
		t.Helper()
		wantProps := slices.Sorted(maps.Keys(want.Properties))
		gotProps := slices.Sorted(maps.Keys(got.Properties))
		if !slices.Equal(wantProps, gotProps) {
			t.Errorf("%s properties = %v, schema has %v", path, gotProps, wantProps)
		}
		if !slices.Equal(slices.Sorted(slices.Values(want.Required)), slices.Sorted(slices.Values(got.Required))) {
			t.Errorf("%s required = %v, schema has %v", path, got.Required, want.Required)
		}
	}
	compare("body", top, body)
	for _, field := range []string{"plugin", "app"} {
		var nested jsonSchema
		if err := json.Unmarshal(top.Properties[field], &nested); err != nil {
			t.Fatal(err)
		}
		compare(field, nested, body.Properties[field].Value)
	}
}
