// Package verify decides whether a digest was signed by someone a policy trusts, before
// hoist deploys it. It reads cosign's two ways of storing a signature next to an image:
// the classic `sha256-<hex>.sig` tag (a simple-signing payload per layer, the signature
// and certificate in annotations) and OCI 1.1 referrers carrying sigstore bundles. It
// checks them with sigstore-go and sigstore's signature package (no crypto of its own):
// a public key (ECDSA P-256, Ed25519, RSA) or a Fulcio certificate identity (issuer and
// subject pattern) chained to an offline trusted root. A signature counts only when
// what it signs names the very digest and repository being deployed.
//
// A [Verifier] answers [Verified], [Unsigned] or [Invalid] with a reason that names
// what was found, and remembers final verdicts per digest and policy, so a digest seen
// again costs no registry request.
//
// verify reaches registries only through go-containerregistry, with the options the
// registry package hands it; it must not import the Docker client or any other hoist
// package.
package verify
