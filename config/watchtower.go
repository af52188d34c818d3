package config

import "strings"

// Watchtower makes a policy honour Watchtower's container labels
// (com.centurylinklabs.watchtower.*), so containers set up for Watchtower keep working:
//
//	policies:
//	  - name: watchtower
//	    watchtower: { label_enable: true, scope: prod, lifecycle_hooks: true }
//
// A policy with watchtower: and no match.containers takes every container, as
// Watchtower does; enable=false always leaves a container out, monitor-only=true makes
// hoist report an update without rolling it out, depends-on restarts the containers
// that name a replaced one.
type Watchtower struct {
	// LabelEnable takes only containers labelled ...watchtower.enable=true
	// (WATCHTOWER_LABEL_ENABLE).
	LabelEnable bool `yaml:"label_enable" json:"label_enable,omitempty"`
	// Scope takes only containers whose ...watchtower.scope label equals it
	// (WATCHTOWER_SCOPE); "none" takes those without a scope. Empty takes any.
	Scope string `yaml:"scope" json:"scope,omitempty"`
	// LifecycleHooks runs the pre-update and post-update commands of a container's
	// ...watchtower.lifecycle.* labels inside it (WATCHTOWER_LIFECYCLE_HOOKS).
	LifecycleHooks bool `yaml:"lifecycle_hooks" json:"lifecycle_hooks,omitempty"`
}

// WatchtowerSource configures Watchtower's HTTP API trigger: POST /v1/update (optionally
// ?image=repo,repo) with Authorization: Bearer <token> asks for a check, as
// WATCHTOWER_HTTP_API_UPDATE did.
type WatchtowerSource struct {
	Token Secret `yaml:"token" json:"token"`
}

func (w *Watchtower) validate(v *validator, at string) {
	if w == nil {
		return
	}
	if strings.ContainsAny(w.Scope, " \t,") {
		v.addf(at+".scope", "scope %q: write one scope name, as in the label com.centurylinklabs.watchtower.scope", w.Scope)
	}
}
