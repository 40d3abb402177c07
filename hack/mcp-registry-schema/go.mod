// Build glue, no code: pins the MCP registry's Go module, whose validator embeds the server.json schemas
// (internal/validators/schemas/DATE.json). tests/distribution/test_server_json.py reads the schema
// that server.json's $schema names from the module cache (`go mod download -json`, checked against
// go.sum). Do not run `go mod tidy` here: with no imports it would drop the requirement.
module krr-mcp.io/hack/mcp-registry-schema

go 1.26

require github.com/modelcontextprotocol/registry v1.8.9
