-- Managed by pulumi-patroni. Safe to run again.
SELECT format('CREATE ROLE %I LOGIN', 'admin') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'admin')\gexec
ALTER ROLE "admin" WITH LOGIN CREATEDB CREATEROLE PASSWORD 'SCRAM-SHA-256$4096:eyq6TrL+LBVTJ1OH+Oc9rg==$pgWbU5p3RuL+fA6txsISHRlVp6eAi3k6/YWfd74qn5c=:p1W6IaMwutDPsWiOf37crfSZcVwBVA4zqEG5LvhqJWk=';
SELECT format('CREATE ROLE %I LOGIN', 'orders') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'orders')\gexec
ALTER ROLE "orders" WITH LOGIN CREATEDB PASSWORD 'SCRAM-SHA-256$4096:XRHVQ4tv64pDnM+Aotiy9g==$CMxGjUx9zm00lrxhzxwDa6eVXdjekFC5Fb6fRizA+2M=:+dTsC6SRhSoTeBhZt29RMhDFKnVBHTz/qhsCxOYHGLU=';
SELECT format('CREATE DATABASE %I OWNER %I', 'orders', 'orders') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'orders')\gexec
