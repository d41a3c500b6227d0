# Vault policy for vaulted-cache: read its own secrets and the credentials of what it connects to.
path "secret/data/backplane/vaulted/cache/credentials" {
  capabilities = ["read"]
}
