# Vault policy for pay-api: read its own secrets and the credentials of what it connects to.
path "secret/data/backplane/pay/api" {
  capabilities = ["read"]
}
