package routegen

import (
	"strings"
	"testing"
)

const doc = `{
 "paths": {
  "/repos/{owner}/{repo}/things/{id}": {
   "post": {
    "operationId": "things/create",
    "parameters": [{"$ref": "#/components/parameters/owner"}, {"name": "repo", "in": "path", "required": true, "schema": {"type": "string"}},
                   {"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}},
                   {"name": "page", "in": "query", "schema": {"type": "integer"}}],
    "requestBody": {"content": {"application/json": {"schema": {"type": "object", "required": ["state"],
      "properties": {"state": {"type": "string", "enum": ["a", "b"]}, "note": {"type": ["string", "null"]}}}}}},
    "responses": {"201": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/thing"}}}},
                  "422": {"$ref": "#/components/responses/validation"}}
   }
  }
 },
 "components": {
  "parameters": {"owner": {"name": "owner", "in": "path", "required": true, "schema": {"type": "string"}}},
  "schemas": {"thing": {"type": "object", "required": ["id", "state"]}},
  "responses": {"validation": {"description": "x"}}
 }
}`

func TestDerive(t *testing.T) {
	rs, err := Derive([]byte(doc), []Op{{"POST", "/repos/{owner}/{repo}/things/{id}"}})
	if err != nil {
		t.Fatal(err)
	}
	r := rs[0]
	if r.OperationID != "things/create" || len(r.PathParams) != 3 || r.PathParams[2].Type != "integer" ||
		len(r.QueryParams) != 1 || len(r.Body) != 2 || r.Body[1].Name != "state" || !r.Body[1].Required ||
		strings.Join(r.Body[1].Enum, ",") != "a,b" || r.Body[0].Type != "string" ||
		len(r.Statuses) != 2 || strings.Join(r.ResponseRequired, ",") != "id,state" {
		t.Errorf("route = %+v", r)
	}
	src, err := Source("x", "test", rs)
	if err != nil || !strings.Contains(string(src), `"things/create"`) {
		t.Errorf("Source: %v\n%s", err, src)
	}
}

func TestDeriveRefusesWhatIsNotThere(t *testing.T) {
	for _, tc := range []struct {
		doc string
		op  Op
	}{
		{doc, Op{"GET", "/repos/{owner}/{repo}/things/{id}"}},
		{doc, Op{"POST", "/nope"}},
		{`{"paths": `, Op{"GET", "/"}},
		{strings.Replace(doc, "#/components/parameters/owner", "#/components/parameters/missing", 1), Op{"POST", "/repos/{owner}/{repo}/things/{id}"}},
	} {
		if _, err := Derive([]byte(tc.doc), []Op{tc.op}); err == nil {
			t.Errorf("Derive(%s %s) succeeded", tc.op.Method, tc.op.Path)
		}
	}
}
