package artifacts

// SetPartSize sets the multipart part size of an S3 store (tests).
func SetPartSize(s *S3, n uint64) { s.partSize = n }
