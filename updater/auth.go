package updater

import (
	"encoding/base64"
	"encoding/json"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// encodeAuth builds the X-Registry-Auth value workers use to pull; "" for anonymous.
func encodeAuth(a authn.Authenticator, repo name.Repository) string {
	if a == nil || a == authn.Anonymous {
		return ""
	}
	cfg, err := a.Authorization()
	if err != nil || (cfg.Username == "" && cfg.Password == "" && cfg.IdentityToken == "" && cfg.RegistryToken == "") {
		return ""
	}
	b, err := json.Marshal(map[string]string{
		"username": cfg.Username, "password": cfg.Password,
		"identitytoken": cfg.IdentityToken, "registrytoken": cfg.RegistryToken,
		"serveraddress": repo.RegistryStr(),
	})
	if err != nil {
		return ""
	}
	return base64.URLEncoding.EncodeToString(b)
}
