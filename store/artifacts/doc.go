// Package artifacts keeps build artifacts: the compressed tarballs that an
// element built from source is built into once per commit, and that its
// instances then start from.
//
// One small interface, Store, has two implementations, and both pass the
// conformance suite in package artifactstest:
//
//   - Local: files under a folder on the serve host (0700 folders, 0600
//     files). Each object is written to a temporary file, synced and
//     renamed into place, with its SHA-256 in a hidden sidecar beside it.
//     A folder serves one process: concurrent calls within that process
//     are safe, several processes sharing one folder are not supported
//     (use S3 for several replicas).
//   - S3: any S3-compatible bucket, through the MinIO Go client
//     (github.com/minio/minio-go/v7, Apache-2.0). The object's SHA-256 is
//     kept as its user metadata. Credentials come from the standard
//     environment only (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
//     AWS_SESSION_TOKEN); a URL that carries credentials is refused.
//
// Open picks one from a URL.
//
// Keys are slash-separated paths of lowercase segments,
// "<project>/<element>/<sha>.tar.gz" and "<project>/<element>/cache.tar.gz"
// (see ValidKey); both implementations refuse any other shape before they
// touch storage, so a key never escapes its folder or bucket prefix.
//
// A reader never sees a partial object: Put stores the whole object or
// nothing, and an upload that fails midway (a reader's error, a canceled
// context) leaves no trace that List shows. Errors name the operation and
// the key ("artifacts: open shop/api/abc.tar.gz: ...") and wrap ErrNotFound
// where callers branch; no error, and no Describe, quotes a credential.
//
// This package imports no other package of this module.
package artifacts
