# Vault policy for vaulted-mq: read its own secrets and the credentials of what it connects to.
path "secret/data/backplane/vaulted/mq/credentials" {
  capabilities = ["read"]
}
