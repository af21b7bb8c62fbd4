package provenance

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
)

// ErrKey is wrapped by every error about a key that cannot be used: not
// PEM, not ed25519 or ECDSA P-256, a private key where a public one is
// expected.
var ErrKey = errors.New("unusable key")

// KeyID names a public key: its SHA-256 fingerprint as `ssh-keygen -l`
// prints it ("SHA256:<base64>"), which is also the key ID DSSE verifiers
// (go-securesystemslib, cosign) compute for a key that names none. It is
// what requireSignedBy lists.
func KeyID(pub crypto.PublicKey) (string, error) {
	id, err := dsse.SHA256KeyID(pub)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrKey, err)
	}
	return id, nil
}

// Signer signs DSSE envelopes with an ed25519 or ECDSA P-256 private key.
type Signer struct {
	key crypto.Signer
	id  string
}

// ID is the key ID of the signer's public key.
func (s *Signer) ID() string { return s.id }

// Public is the signer's public key.
func (s *Signer) Public() crypto.PublicKey { return s.key.Public() }

// PublicPEM is the signer's public key as PEM ("PUBLIC KEY", PKIX), the
// form trustedKeys and cosign's --key take.
func (s *Signer) PublicPEM() ([]byte, error) { return publicPEM(s.key.Public()) }

// KeyID implements dsse.Signer.
func (s *Signer) KeyID() (string, error) { return s.id, nil }

// Sign implements dsse.Signer: ed25519 signs the message itself, ECDSA
// signs its SHA-256 (ASN.1 DER), as DSSE and cosign expect.
func (s *Signer) Sign(_ context.Context, data []byte) ([]byte, error) {
	switch k := s.key.(type) {
	case ed25519.PrivateKey:
		return ed25519.Sign(k, data), nil
	case *ecdsa.PrivateKey:
		sum := sha256.Sum256(data)
		return ecdsa.SignASN1(rand.Reader, k, sum[:])
	}
	return nil, fmt.Errorf("%w: %T", ErrKey, s.key)
}

// ParsePrivateKey reads a PEM private key: PKCS#8 ("PRIVATE KEY", what
// `openssl genpkey` and `runway keygen` write) or SEC 1 ("EC PRIVATE
// KEY"), ed25519 or ECDSA P-256. source names the key in errors.
func ParsePrivateKey(source string, b []byte) (*Signer, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: %w: no PEM block (want a PKCS#8 \"PRIVATE KEY\", ed25519 or ECDSA P-256)", source, ErrKey)
	}
	var key any
	var err error
	switch blk.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(blk.Bytes)
	case "PUBLIC KEY":
		return nil, fmt.Errorf("%s: %w: this is a public key; signing needs the private key", source, ErrKey)
	case "ENCRYPTED PRIVATE KEY":
		return nil, fmt.Errorf("%s: %w: encrypted keys are not supported; keep the key in a secret instead", source, ErrKey)
	default:
		return nil, fmt.Errorf("%s: %w: PEM block %q is not a private key", source, ErrKey, blk.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", source, ErrKey, err)
	}
	signer, err := checkPrivate(key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	id, err := KeyID(signer.Public())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return &Signer{key: signer, id: id}, nil
}

func checkPrivate(key any) (crypto.Signer, error) {
	switch k := key.(type) {
	case ed25519.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%w: ECDSA curve %s; only P-256 is supported", ErrKey, k.Curve.Params().Name)
		}
		return k, nil
	}
	return nil, fmt.Errorf("%w: %T; only ed25519 and ECDSA P-256 are supported", ErrKey, key)
}

// ParsePublicKey reads a PEM public key ("PUBLIC KEY", PKIX), ed25519 or
// ECDSA P-256. source names the key in errors.
func ParsePublicKey(source string, b []byte) (crypto.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: %w: no PEM block (want a \"PUBLIC KEY\")", source, ErrKey)
	}
	if blk.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("%s: %w: PEM block %q is not a public key (want \"PUBLIC KEY\"; never give verifiers the private key)", source, ErrKey, blk.Type)
	}
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", source, ErrKey, err)
	}
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return k, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%s: %w: ECDSA curve %s; only P-256 is supported", source, ErrKey, k.Curve.Params().Name)
		}
		return k, nil
	}
	return nil, fmt.Errorf("%s: %w: %T; only ed25519 and ECDSA P-256 are supported", source, ErrKey, pub)
}

// Algorithm names a key type GenerateKey makes.
type Algorithm string

// Algorithms GenerateKey makes.
const (
	Ed25519   Algorithm = "ed25519"
	ECDSAP256 Algorithm = "ecdsa-p256"
)

// GenerateKey makes a new private key and returns it and its public key as
// PEM (PKCS#8 and PKIX), and its key ID.
func GenerateKey(alg Algorithm) (private, public []byte, id string, err error) {
	var key crypto.Signer
	switch alg {
	case Ed25519, "":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	case ECDSAP256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, nil, "", fmt.Errorf("%w: algorithm %q is not one of ed25519, ecdsa-p256", ErrKey, alg)
	}
	if err != nil {
		return nil, nil, "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, "", err
	}
	public, err = publicPEM(key.Public())
	if err != nil {
		return nil, nil, "", err
	}
	if id, err = KeyID(key.Public()); err != nil {
		return nil, nil, "", err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), public, id, nil
}

func publicPEM(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// verifier checks DSSE signatures with one public key.
type verifier struct {
	pub crypto.PublicKey
	id  string
}

func (v *verifier) KeyID() (string, error)   { return v.id, nil }
func (v *verifier) Public() crypto.PublicKey { return v.pub }

func (v *verifier) Verify(_ context.Context, data, sig []byte) error {
	switch k := v.pub.(type) {
	case ed25519.PublicKey:
		if ed25519.Verify(k, data, sig) {
			return nil
		}
	case *ecdsa.PublicKey:
		sum := sha256.Sum256(data)
		if ecdsa.VerifyASN1(k, sum[:], sig) {
			return nil
		}
	}
	return errors.New("signature does not verify")
}
