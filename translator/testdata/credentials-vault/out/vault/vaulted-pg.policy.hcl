# Vault policy for vaulted-pg: read its own secrets and the credentials of what it connects to.
path "secret/data/backplane/vaulted/pg/credentials" {
  capabilities = ["read"]
}
