package main

import "strings"

// digestOf is the digest of a pinned image ("repo:tag@sha256:…"), or "".
func digestOf(image string) string {
	_, dg, _ := strings.Cut(image, "@")
	return dg
}
