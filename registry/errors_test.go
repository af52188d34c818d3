package registry

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"
	"testing"
)

// An untrusted certificate is a permanent failure with a message that says what to do;
// it is never retried as if it were a network blip.
func TestUntrustedCertificateIsPermanent(t *testing.T) {
	for _, cause := range []error{
		&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}},
		x509.HostnameError{Certificate: &x509.Certificate{}, Host: "reg.example.com"},
	} {
		err := classify(fmt.Errorf("Get \"https://reg.example.com/v2/\": %w", cause))
		if IsRetryable(err) || !strings.Contains(err.Error(), "not trusted") {
			t.Errorf("%T: %v (retryable %v), want permanent and naming the certificate", cause, err, IsRetryable(err))
		}
	}
	if !IsRetryable(classify(fmt.Errorf("dial tcp: connection refused"))) {
		t.Error("a network failure must stay retryable")
	}
}
