package testpeer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Certs are PEM files of a test PKI made at run time: a self-signed CA
// and a leaf it signed for 127.0.0.1, ::1 and localhost. Never committed:
// each test makes its own in its t.TempDir().
type Certs struct {
	Dir              string
	CA, CAKey        string // the CA's certificate and key
	Cert, Key        string // the leaf's
	Chain            string // the leaf then the CA (what a server presents)
	KeyAndCert       string // the leaf's key and certificate in one file (stunnel)
	CACert, LeafCert *x509.Certificate
}

// MakeCerts writes a CA and a leaf into a new folder of t.TempDir().
func MakeCerts(t testing.TB) Certs {
	t.Helper()
	c := Certs{Dir: t.TempDir()}
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "hotline test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	c.CACert, _ = x509.ParseCertificate(caDER)
	leafKey := newKey(t)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, c.CACert, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	c.LeafCert, _ = x509.ParseCertificate(leafDER)
	caPEM, leafPEM := certPEM(caDER), certPEM(leafDER)
	c.CA = c.write(t, "ca.pem", caPEM)
	c.CAKey = c.write(t, "ca-key.pem", keyPEM(t, caKey))
	c.Cert = c.write(t, "cert.pem", leafPEM)
	c.Key = c.write(t, "key.pem", keyPEM(t, leafKey))
	c.Chain = c.write(t, "chain.pem", append(append([]byte(nil), leafPEM...), caPEM...))
	c.KeyAndCert = c.write(t, "key-cert.pem", append(keyPEM(t, leafKey), leafPEM...))
	return c
}

// OtherKey writes a key that belongs to no certificate here (a
// mismatched pair) and returns its file.
func (c Certs) OtherKey(t testing.TB) string {
	t.Helper()
	return c.write(t, "other-key.pem", keyPEM(t, newKey(t)))
}

func (c Certs) write(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(c.Dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func keyPEM(t testing.TB, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}
