module github.com/judgeval-otel/collector-config/distribution

go 1.26
