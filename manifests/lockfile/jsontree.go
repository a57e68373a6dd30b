package lockfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// jsonKind is the type of a JSON value.
type jsonKind int

const (
	jsonNull jsonKind = iota
	jsonObject
	jsonArray
	jsonString
	jsonNumber
	jsonBool
)

func (k jsonKind) String() string {
	return [...]string{"null", "an object", "an array", "a string", "a number", "a boolean"}[k]
}

// jsonValue is a parsed JSON value that remembers where its text is, so
// that string values can be replaced in place.
type jsonValue struct {
	kind       jsonKind
	start, end int // byte offsets of the value's text; for strings, quotes included
	str        string
	number     json.Number
	boolean    bool
	members    []jsonMember
}

// jsonMember is one key and value of a JSON object.
type jsonMember struct {
	key      string
	keyStart int
	value    *jsonValue
}

// get returns the value of key, the last one when the key repeats, as
// JavaScript's JSON.parse does, or nil when the object has no such key.
func (v *jsonValue) get(key string) *jsonValue {
	if v == nil || v.kind != jsonObject {
		return nil
	}
	for i := len(v.members) - 1; i >= 0; i-- {
		if v.members[i].key == key {
			return v.members[i].value
		}
	}
	return nil
}

// jsonSyntaxError is a JSON syntax error at a byte offset.
type jsonSyntaxError struct {
	offset int
	msg    string
}

func (e *jsonSyntaxError) Error() string { return e.msg }

// parseJSON parses data into a jsonValue tree. Array items are checked for
// syntax but not kept, because no lockfile field this package reads is
// an array.
func parseJSON(data []byte) (*jsonValue, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := readJSON(dec, data, 0)
	if err != nil {
		return nil, syntaxError(dec, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &jsonSyntaxError{offset: int(dec.InputOffset()),
			msg: "unexpected data after the top-level value"}
	}
	return v, nil
}

func syntaxError(dec *json.Decoder, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &jsonSyntaxError{offset: int(se.Offset), msg: se.Error()}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &jsonSyntaxError{offset: int(dec.InputOffset()), msg: "unexpected end of JSON input"}
	}
	return &jsonSyntaxError{offset: int(dec.InputOffset()), msg: err.Error()}
}

// maxJSONDepth bounds the nesting of JSON values. Real lockfiles nest
// about five levels (v1 nests one level per node_modules folder).
const maxJSONDepth = 1000

func readJSON(dec *json.Decoder, data []byte, depth int) (*jsonValue, error) {
	if depth > maxJSONDepth {
		return nil, fmt.Errorf("JSON nested deeper than %d levels", maxJSONDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	end := int(dec.InputOffset())
	switch t := tok.(type) {
	case json.Delim:
		v := &jsonValue{start: end - 1}
		switch t {
		case '{':
			v.kind = jsonObject
			err = readMembers(dec, data, v, depth)
		case '[':
			v.kind = jsonArray
			err = skipItems(dec, data, depth)
		default:
			return nil, fmt.Errorf("unexpected %q", t)
		}
		if err != nil {
			return nil, err
		}
		v.end = int(dec.InputOffset())
		return v, nil
	case string:
		return &jsonValue{kind: jsonString, str: t, start: stringStart(data, end), end: end}, nil
	case json.Number:
		return &jsonValue{kind: jsonNumber, number: t, end: end}, nil
	case bool:
		return &jsonValue{kind: jsonBool, boolean: t, end: end}, nil
	case nil:
		return &jsonValue{kind: jsonNull, end: end}, nil
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

// readMembers reads the members of an object after its '{' and the '}'.
func readMembers(dec *json.Decoder, data []byte, v *jsonValue, depth int) error {
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("object key is %v, not a string", tok)
		}
		keyStart := stringStart(data, int(dec.InputOffset()))
		value, err := readJSON(dec, data, depth+1)
		if err != nil {
			return err
		}
		v.members = append(v.members, jsonMember{key: key, keyStart: keyStart, value: value})
	}
	_, err := dec.Token()
	return err
}

// skipItems reads the items of an array after its '[' and the ']'.
func skipItems(dec *json.Decoder, data []byte, depth int) error {
	for dec.More() {
		if _, err := readJSON(dec, data, depth+1); err != nil {
			return err
		}
	}
	_, err := dec.Token()
	return err
}

// stringStart returns the offset of the opening quote of the JSON string
// that ends just before end. Inside a JSON string every quote is escaped,
// so an odd number of backslashes precedes it. The opening quote is the
// nearest quote preceded by an even number.
func stringStart(data []byte, end int) int {
	for i := end - 2; i >= 0; i-- {
		if data[i] != '"' {
			continue
		}
		backslashes := 0
		for j := i - 1; j >= 0 && data[j] == '\\'; j-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return i
		}
	}
	return 0
}
