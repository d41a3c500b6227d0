package artifacts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config says where an S3 store keeps its objects.
type S3Config struct {
	// Bucket must exist; the store does not create it.
	Bucket string
	// Prefix, if not empty, is put before every key ("backplane" keeps
	// key k at "backplane/k"); it is made of ValidKey segments.
	Prefix string
	// Endpoint is the server's URL, http:// or https://; empty means AWS
	// (https://s3.amazonaws.com).
	Endpoint string
	// Region is the bucket's region; empty lets the client look it up.
	Region string
	// PathStyle addresses the bucket in the path (endpoint/bucket/key)
	// rather than in the host name (bucket.endpoint/key); most
	// S3-compatible servers other than AWS want it.
	PathStyle bool
	// SpoolDir is where Put keeps an object while it hashes it, before
	// the upload; empty means the system's temporary folder.
	SpoolDir string
	// Transport, if not nil, carries the requests (tests).
	Transport http.RoundTripper
}

// S3 keeps objects in an S3-compatible bucket, through the MinIO Go
// client. Put spools the object to a temporary file while it hashes it,
// then uploads it whole with its size known and its SHA-256 as the user
// metadata "sha256"; S3 makes an object visible only when its upload is
// complete, and a Put whose reader fails never starts the upload.
// Credentials are read from the environment (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; the client also honours the
// older AWS_ACCESS_KEY and AWS_SECRET_KEY); without them requests are
// anonymous. No other source (shared files, instance metadata) is asked.
type S3 struct {
	client   *minio.Client
	cfg      S3Config
	endpoint string // for Describe
	// partSize, when not 0, is the multipart part size (tests).
	partSize uint64
}

var _ Store = (*S3)(nil)

// shaMeta is the user metadata key of an object's SHA-256
// (x-amz-meta-sha256).
const shaMeta = "sha256"

// NewS3 returns an S3 store. It does not touch the network.
func NewS3(cfg S3Config) (*S3, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("artifacts: s3: no bucket")
	}
	cfg.Prefix = strings.Trim(cfg.Prefix, "/")
	if cfg.Prefix != "" {
		if err := ValidKey(cfg.Prefix); err != nil {
			return nil, fmt.Errorf("artifacts: s3 prefix: %w", err)
		}
	}
	endpoint := cfg.Endpoint
	if endpoint == "" {
		endpoint = "https://s3.amazonaws.com"
	}
	e, err := url.Parse(endpoint)
	if err != nil {
		return nil, errors.New("artifacts: s3: the endpoint does not parse (want http://HOST:PORT or https://HOST)")
	}
	if e.User != nil {
		return nil, errors.New("artifacts: s3: the endpoint carries credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment instead")
	}
	if e.Scheme != "http" && e.Scheme != "https" || e.Host == "" || strings.Trim(e.Path, "/") != "" || e.RawQuery != "" {
		return nil, fmt.Errorf("artifacts: s3: endpoint %q is not http://HOST[:PORT] or https://HOST[:PORT]", endpoint)
	}
	opts := &minio.Options{
		Creds:     credentials.NewEnvAWS(),
		Secure:    e.Scheme == "https",
		Region:    cfg.Region,
		Transport: cfg.Transport,
	}
	if cfg.PathStyle {
		opts.BucketLookup = minio.BucketLookupPath
	}
	client, err := minio.New(e.Host, opts)
	if err != nil {
		return nil, fmt.Errorf("artifacts: s3 endpoint %s: %w", e.Host, err)
	}
	return &S3{client: client, cfg: cfg, endpoint: e.Scheme + "://" + e.Host}, nil
}

// newS3FromURL is Open for "s3://bucket/prefix?endpoint=...&region=...&path_style=true".
func newS3FromURL(u *url.URL, dataDir string) (*S3, error) {
	cfg := S3Config{Bucket: u.Host, Prefix: u.Path}
	if cfg.Bucket == "" {
		return nil, errors.New("artifacts: s3 URL has no bucket (want s3://bucket/prefix)")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, errors.New("artifacts: s3 URL: the query does not parse")
	}
	for k, v := range q {
		if len(v) != 1 {
			return nil, fmt.Errorf("artifacts: s3 URL: %s given %d times", k, len(v))
		}
		switch k {
		case "endpoint":
			cfg.Endpoint = v[0]
		case "region":
			cfg.Region = v[0]
		case "path_style":
			switch v[0] {
			case "true", "1":
				cfg.PathStyle = true
			case "false", "0", "":
			default:
				return nil, fmt.Errorf("artifacts: s3 URL: path_style=%q (want true or false)", v[0])
			}
		default:
			return nil, fmt.Errorf("artifacts: s3 URL: unknown parameter %q (known: endpoint, region, path_style)", k)
		}
	}
	if dataDir != "" {
		cfg.SpoolDir = filepath.Join(dataDir, "artifacts-spool")
	}
	return NewS3(cfg)
}

// Describe names the bucket, prefix, endpoint and region.
func (s *S3) Describe() string {
	d := "s3://" + s.cfg.Bucket + "/" + s.cfg.Prefix + " at " + s.endpoint
	if s.cfg.Region != "" {
		d += " (region " + s.cfg.Region + ")"
	}
	return d
}

// object is the object name of key.
func (s *S3) object(key string) string {
	if s.cfg.Prefix == "" {
		return key
	}
	return s.cfg.Prefix + "/" + key
}

// Put spools r to a temporary file, hashing it, and uploads it whole.
func (s *S3) Put(ctx context.Context, key string, r io.Reader) (_ Info, err error) {
	if err := ValidKey(key); err != nil {
		return Info{}, fmt.Errorf("artifacts: put: %w", err)
	}
	defer func() {
		if err != nil {
			err = opError("put", key, err)
		}
	}()
	if s.cfg.SpoolDir != "" {
		if err := os.MkdirAll(s.cfg.SpoolDir, 0o700); err != nil {
			return Info{}, err
		}
	}
	f, err := os.CreateTemp(s.cfg.SpoolDir, "backplane-artifact-*")
	if err != nil {
		return Info{}, err
	}
	defer func() {
		_ = f.Close()
		_ = os.Remove(f.Name())
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), ctxReader{ctx, r})
	if err != nil {
		return Info{}, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return Info{}, err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	up, err := s.client.PutObject(ctx, s.cfg.Bucket, s.object(key), f, n, minio.PutObjectOptions{
		ContentType:  "application/octet-stream",
		UserMetadata: map[string]string{shaMeta: sum},
		PartSize:     s.partSize,
		// An empty body cannot be sent as a signed stream of chunks
		// (the client would send it without a length); it has nothing
		// to sign anyway.
		DisableContentSha256: n == 0,
	})
	if err != nil {
		return Info{}, s3Error(err)
	}
	mod := up.LastModified
	if mod.IsZero() {
		mod = time.Now()
	}
	return Info{Key: key, Size: n, SHA256: sum, Modified: mod.UTC()}, nil
}

// Open returns the object at key; its Info comes from the same response
// as its bytes.
func (s *S3) Open(ctx context.Context, key string) (_ io.ReadCloser, _ Info, err error) {
	if err := ValidKey(key); err != nil {
		return nil, Info{}, fmt.Errorf("artifacts: open: %w", err)
	}
	// One GET: the high-level GetObject would HEAD first and GET later,
	// and a Put in between would pair one object's bytes with another's
	// digest.
	body, oi, _, err := minio.Core{Client: s.client}.GetObject(ctx, s.cfg.Bucket, s.object(key), minio.GetObjectOptions{})
	if err != nil {
		return nil, Info{}, s.fail("open", key, err)
	}
	return body, s.info(key, oi), nil
}

// Stat returns the Info of the object at key.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	if err := ValidKey(key); err != nil {
		return Info{}, fmt.Errorf("artifacts: stat: %w", err)
	}
	oi, err := s.client.StatObject(ctx, s.cfg.Bucket, s.object(key), minio.StatObjectOptions{})
	if err != nil {
		return Info{}, s.fail("stat", key, err)
	}
	return s.info(key, oi), nil
}

// Delete removes the object at key; S3 answers a missing key with
// success.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return fmt.Errorf("artifacts: delete: %w", err)
	}
	err := s.client.RemoveObject(ctx, s.cfg.Bucket, s.object(key), minio.RemoveObjectOptions{})
	if err != nil && !isNotFound(err) {
		return opError("delete", key, s3Error(err))
	}
	return nil
}

// List lists the objects under prefix, then reads each one's SHA-256
// (listings do not carry user metadata). Objects whose names are not
// valid keys are left out.
func (s *S3) List(ctx context.Context, prefix string) ([]Info, error) {
	if err := validPrefix(prefix); err != nil {
		return nil, fmt.Errorf("artifacts: list: %w", err)
	}
	full := prefix
	if s.cfg.Prefix != "" {
		full = s.cfg.Prefix + "/" + prefix
	}
	var keys []string
	for oi := range s.client.ListObjectsIter(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: full, Recursive: true}) {
		if oi.Err != nil {
			return nil, fmt.Errorf("artifacts: list %q: %w", prefix, s3Error(oi.Err))
		}
		key := oi.Key
		if s.cfg.Prefix != "" {
			var ok bool
			if key, ok = strings.CutPrefix(key, s.cfg.Prefix+"/"); !ok {
				continue
			}
		}
		if ValidKey(key) == nil {
			keys = append(keys, key)
		}
	}
	return statAll(ctx, keys, s.Stat)
}

// info turns the client's ObjectInfo into Info.
func (s *S3) info(key string, oi minio.ObjectInfo) Info {
	info := Info{Key: key, Size: oi.Size, Modified: oi.LastModified.UTC()}
	for k, v := range oi.UserMetadata {
		if strings.EqualFold(k, shaMeta) || strings.EqualFold(k, "X-Amz-Meta-"+shaMeta) {
			info.SHA256 = strings.ToLower(v)
		}
	}
	return info
}

// fail is the error of op on key: ErrNotFound for a missing object.
func (s *S3) fail(op, key string, err error) error {
	if isNotFound(err) {
		return notFound(op, key)
	}
	return opError(op, key, s3Error(err))
}

// isNotFound reports the server's answer for a missing object.
func isNotFound(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.Code == minio.NoSuchKey || r.StatusCode == http.StatusNotFound && r.Code != minio.NoSuchBucket
}

// s3Error keeps what the server said (its code and message, which carry
// no credentials) or the transport's error.
func s3Error(err error) error {
	r := minio.ToErrorResponse(err)
	if r.Code != "" {
		return fmt.Errorf("%s: %s", r.Code, r.Message)
	}
	return err
}
