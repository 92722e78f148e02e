// Command otelcol-judgeval is a small OpenTelemetry Collector distribution holding exactly the
// components the judgeval-otel collector configs use. It is our own composition of upstream factories
// (the same thing the OpenTelemetry Collector Builder would generate), kept by hand so that building it
// needs only the Go toolchain and the Go module proxy.
package main

import (
	"fmt"
	"os"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/otelcol"
)

// version is the collector release all components are pinned to (see go.mod); scripts/otel-binaries
// overrides it with -ldflags so `--version` names the exact build.
var version = "0.161.0-judgeval"

func main() {
	settings := otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{
			Command:     "otelcol-judgeval",
			Description: "OpenTelemetry Collector distribution for judgeval-otel",
			Version:     version,
		},
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				ProviderFactories: []confmap.ProviderFactory{
					envprovider.NewFactory(),
					fileprovider.NewFactory(),
					yamlprovider.NewFactory(),
				},
			},
		},
	}
	if err := otelcol.NewCommand(settings).Execute(); err != nil {
		fmt.Fprintf(os.Stderr, "otelcol-judgeval: %v\n", err)
		os.Exit(1)
	}
}
