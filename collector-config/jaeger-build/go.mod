module github.com/judgeval-otel/collector-config/jaeger-build

go 1.26
