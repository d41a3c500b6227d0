# Vault policy for vaulted-api: read its own secrets and the credentials of what it connects to.
path "secret/data/backplane/vaulted/cache/credentials" {
  capabilities = ["read"]
}
path "secret/data/backplane/vaulted/mq/credentials" {
  capabilities = ["read"]
}
path "secret/data/backplane/vaulted/pg/credentials" {
  capabilities = ["read"]
}
