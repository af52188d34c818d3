package config

import (
	"fmt"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

// nodeToValue decodes root into v. The YAML decoder panics on some shapes the parser
// accepts (a value that is only a tag, `policies: !`); such a file gets an error at the
// line where its document starts instead of ending the process — a reload keeps the
// running configuration.
func nodeToValue(root ast.Node, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("[%d:1] this YAML cannot be decoded (a tag such as ! with no value?): %v", root.GetToken().Position.Line, r)
		}
	}()
	return yaml.NodeToValue(root, v)
}
