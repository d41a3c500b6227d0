# Vault policy for batch-nightly: read its own secrets and the credentials of what it connects to.
path "secret/data/backplane/batch/nightly" {
  capabilities = ["read"]
}
