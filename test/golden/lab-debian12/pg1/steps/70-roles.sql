-- Managed by pulumi-patroni. Safe to run again.
SELECT format('CREATE ROLE %I LOGIN', 'admin') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'admin')\gexec
ALTER ROLE "admin" WITH LOGIN CREATEDB CREATEROLE PASSWORD 'SCRAM-SHA-256$4096:eyq6TrL+LBVTJ1OH+Oc9rg==$pgWbU5p3RuL+fA6txsISHRlVp6eAi3k6/YWfd74qn5c=:p1W6IaMwutDPsWiOf37crfSZcVwBVA4zqEG5LvhqJWk=';
SELECT format('CREATE ROLE %I LOGIN', 'app') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app')\gexec
ALTER ROLE "app" WITH LOGIN PASSWORD 'SCRAM-SHA-256$4096:2xx0A+QsU5oEcoo2x2ElYQ==$1rZmBDhDvDGtjCZzajNXFSDdjdZwyDtJ5bIeGXLGgcA=:6V65Dd1tR+xSTV/1N+icuU88R+hyT3TTB21DmC/OKtQ=';
SELECT format('CREATE DATABASE %I OWNER %I', 'app', 'app') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'app')\gexec
