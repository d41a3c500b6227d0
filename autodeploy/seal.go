package autodeploy

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Sealer encrypts secrets serve must read back in clear, such as a
// project's webhook secret (an HMAC key cannot be stored hashed), so the
// store only ever holds them sealed: AES-256-GCM with the project as
// additional data, so a sealed value moved to another project does not
// open.
type Sealer struct {
	aead cipher.AEAD
	// mac is the key Sign uses, derived from the sealing key so that the
	// two uses never share a key.
	mac []byte
}

// KeySize is the sealing key's length.
const KeySize = 32

// NewSealer returns a sealer for a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("the sealing key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("backplane signing key v1"))
	return &Sealer{aead: aead, mac: m.Sum(nil)}, nil
}

// Sign returns an HMAC-SHA256 of msg under purpose, base64url: the same
// for the same inputs on every replica that shares the key, so it can
// stand in a URL that must not change (an artifact's download link).
func (s *Sealer) Sign(purpose, msg string) string {
	m := hmac.New(sha256.New, s.mac)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Verify reports, in constant time, whether sig is Sign(purpose, msg).
func (s *Sealer) Verify(purpose, msg, sig string) bool {
	return hmac.Equal([]byte(s.Sign(purpose, msg)), []byte(sig))
}

// LoadKey reads the sealing key: BACKPLANE_SECRET_KEY's value (base64 of
// 32 bytes), or else the file <dataDir>/secret.key, created (mode 0600)
// when missing. Several serve replicas must share the key, so with a
// shared store set the variable on each.
func LoadKey(env, dataDir string) ([]byte, error) {
	if env != "" {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(env))
		if err != nil || len(k) != KeySize {
			return nil, errors.New("BACKPLANE_SECRET_KEY must be the base64 of 32 random bytes (openssl rand -base64 32)")
		}
		return k, nil
	}
	if dataDir == "" {
		return nil, errors.New("no sealing key: set BACKPLANE_SECRET_KEY")
	}
	path := filepath.Join(dataDir, "secret.key")
	if b, err := os.ReadFile(path); err == nil {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(k) != KeySize {
			return nil, fmt.Errorf("%s does not hold a sealing key (base64 of 32 bytes)", path)
		}
		return k, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) { // another process made it first
			return LoadKey("", dataDir)
		}
		return nil, err
	}
	defer f.Close()
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n"); err != nil {
		return nil, err
	}
	return k, f.Sync()
}

// Seal encrypts plain for project.
func (s *Sealer) Seal(project string, plain []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.aead.Seal(nonce, nonce, plain, []byte(project)), nil
}

// ErrUnseal means a sealed value does not open with this key and project.
var ErrUnseal = errors.New("the sealed secret does not open with this server's key (was BACKPLANE_SECRET_KEY changed?)")

// Open decrypts a value sealed for project.
func (s *Sealer) Open(project string, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return nil, ErrUnseal
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(project))
	if err != nil {
		return nil, ErrUnseal
	}
	return plain, nil
}
