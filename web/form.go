package web

import (
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/ferrysync/ferry/secret"
	"github.com/ferrysync/ferry/store"
)

// specForm is a form generated from a connector's spec: what a page
// needs to show it, read it back and validate it. It holds no request
// state; formState does.
type specForm struct {
	spec   json.RawMessage
	schema *formSchema
}

// newSpecForm reads a ConnectorSpecification.
func newSpecForm(spec json.RawMessage) (*specForm, error) {
	s, err := parseFormSchema(spec)
	if err != nil {
		return nil, err
	}
	return &specForm{spec: spec, schema: s}, nil
}

// formView is the "specform" template's data.
type formView struct {
	Sections []*formSection
	// Errors are the problems that belong to no field shown.
	Errors []string
}

// view builds what the template renders. stored is the stored config
// (masked) when editing, nil when creating.
func (f *specForm) view(st *formState, stored map[string]any) formView {
	sections, loose := buildWidgets(f.schema, st, stored)
	return formView{Sections: sections, Errors: loose}
}

// initial is a new form's state: the stored config (masked) when editing,
// with each row marked as its stored self; the spec's defaults when
// creating.
func (f *specForm) initial(stored map[string]any) *formState {
	st := newFormState()
	if stored == nil {
		st.Values = defaults(f.schema)
		return st
	}
	st.Values = cloneValues(stored).(map[string]any)
	markOrigins(f.schema, st.Values, "", st.Origins)
	return st
}

// markOrigins records every row of v's arrays as coming from the stored
// config at its own index.
func markOrigins(s *formSchema, v any, path string, origins map[string]int) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if c := childSchema(s, k, x); c != nil {
				markOrigins(c, val, joinPath(path, k), origins)
			}
		}
	case []any:
		for i, val := range x {
			rp := joinPath(path, strconv.Itoa(i))
			origins[rp] = i
			markOrigins(orEmpty(s).Items, val, rp, origins)
		}
	}
}

// read builds the state of a posted form and performs its add-row or
// remove-row action. For an edit (stored not nil) each secret left empty
// that may keep its stored value holds the mask, which the store
// replaces with the stored value; hidden fields keep the stored value or
// take their default.
func (f *specForm) read(form url.Values, stored map[string]any) (*formState, string) {
	st := readForm(f.schema, form)
	action := form.Get(formAction)
	if !st.applyAction(f.schema, action) && stored != nil {
		st.keepSecrets(f.schema, stored)
	}
	fillHidden(f.schema, st.Values, stored)
	return st, action
}

// config is the state's config as JSON.
func (st *formState) config() json.RawMessage {
	b, err := json.Marshal(st.Values)
	if err != nil {
		return json.RawMessage("{}")
	}
	return b
}

// validate checks config (the form's config with the stored secrets
// merged in) against the spec and records every violation next to its
// field; a field that already failed to parse keeps only that message.
// It reports whether the form is valid.
func (f *specForm) validate(st *formState, config json.RawMessage, red *secret.Redactor) (bool, error) {
	parsed := len(st.Errors) == 0
	vs, err := configViolations(f.spec, config, red)
	if err != nil {
		return false, err
	}
	for _, v := range vs {
		path := formPath(v.Field)
		if _, bad := st.Errors[path]; bad && !parsed {
			continue
		}
		st.addError(path, v.Message)
	}
	return len(st.Errors) == 0, nil
}

// formPath turns an API field name (configuration.hosts[0].port) into
// the form's dotted path (hosts.0.port); the configuration itself is "".
func formPath(field string) string {
	p, ok := strings.CutPrefix(field, "configuration")
	if !ok {
		return field
	}
	p = strings.NewReplacer("[", ".", "]", "").Replace(p)
	return strings.TrimPrefix(p, ".")
}

// configViolations validates a plaintext config against a spec like
// validateConfig, but returns every violation rather than the first: the
// leaves of the error tree, and for a oneOf or anyOf only the branch that
// got furthest (the one the user meant), each message masked by red. A
// spec that cannot be used is an error.
func configViolations(spec, config json.RawMessage, red *secret.Redactor) ([]*store.ValidationError, error) {
	sch, inst, err := compileConfig(spec, config, red)
	if err != nil {
		return nil, err
	}
	err = sch.Validate(inst)
	var ve *jsonschema.ValidationError
	if err == nil {
		return nil, nil
	} else if !errors.As(err, &ve) {
		return nil, err
	}
	var out []*store.ValidationError
	seen := map[string]bool{}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		switch e.ErrorKind.(type) {
		case *kind.OneOf, *kind.AnyOf:
			// The branches whose discriminator matched are the one meant;
			// without such a branch, the one that got furthest.
			meant := slices.DeleteFunc(slices.Clone(e.Causes), constFailed)
			if len(meant) == 0 && len(e.Causes) > 0 {
				leaf, _ := deepest(e)
				meant = []*jsonschema.ValidationError{leaf}
			}
			if len(meant) > 0 {
				for _, c := range meant {
					walk(c)
				}
				return
			}
		}
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		field, msg := describe(e)
		if key := field + "\x00" + msg; !seen[key] {
			seen[key] = true
			out = append(out, &store.ValidationError{Field: field, Message: red.Redact(msg)})
		}
	}
	walk(ve)
	slices.SortStableFunc(out, func(a, b *store.ValidationError) int { return strings.Compare(a.Field, b.Field) })
	return out, nil
}

// constFailed reports whether a branch failed on a const (or one-value
// enum): a oneOf variant whose discriminator does not match.
func constFailed(e *jsonschema.ValidationError) bool {
	switch k := e.ErrorKind.(type) {
	case *kind.Const:
		return true
	case *kind.Enum:
		return len(k.Want) == 1
	}
	return slices.ContainsFunc(e.Causes, constFailed)
}
