# Exekra Hub. `make pilot` starts the all-in-one Hub; `make test` runs every test.
SHELL := /bin/bash
# The version comes from the nearest v<semver> tag: v1.2.3 is 1.2.3, four commits
# past it 1.2.3+4.g<commit>, "-dirty" added for a modified tree; without a tag
# 0.0.0-dev+<commit>. COMMIT is the commit's first 12 hex digits.
COMMIT ?= $(or $(shell git rev-parse --short=12 HEAD 2>/dev/null),unknown)
DIRTY ?= $(if $(shell git status --porcelain --untracked-files=no 2>/dev/null | head -1),true,false)
VERSION ?= $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null | sed -E 's/^v//; s/-([0-9]+)-g([0-9a-f]+)/+\1.g\2/' | grep . || echo 0.0.0-dev+$(COMMIT))
LDFLAGS := -X github.com/exekra/hub/libs/buildinfo.Version=$(VERSION) -X github.com/exekra/hub/libs/buildinfo.Commit=$(COMMIT) \
           -X github.com/exekra/hub/libs/buildinfo.modified=$(DIRTY)
HOME_DIR ?= ./var/hub
MODULES := ./libs/... ./services/gateway/... ./services/identity/... ./services/licensing/... \
           ./services/runners/... ./services/audit/... ./agent/... ./pilot/... ./exekractl/... \
           ./bench/... ./e2e/...
BINARIES := github.com/exekra/hub/services/gateway/cmd/exekra-gateway \
            github.com/exekra/hub/services/identity/cmd/exekra-identity \
            github.com/exekra/hub/services/licensing/cmd/exekra-licensing \
            github.com/exekra/hub/services/runners/cmd/exekra-runners \
            github.com/exekra/hub/services/audit/cmd/exekra-audit \
            github.com/exekra/hub/pilot/cmd/exekra-hub \
            github.com/exekra/hub/exekractl/cmd/exekractl \
            github.com/exekra/hub/agent/cmd/exekra-runner

.PHONY: build pilot test test-enterprise test-unit lint fmt clean bench

build:
	@mkdir -p bin
	go build -trimpath -ldflags "$(LDFLAGS)" -o bin/ $(BINARIES)

pilot:
	@deploy/scripts/debian-deps.sh pilot
	@$(MAKE) --no-print-directory build
	@echo "Starting the pilot Hub in $(HOME_DIR) (Ctrl-C stops it)."
	./bin/exekra-hub --home $(HOME_DIR)

test:
	@deploy/scripts/debian-deps.sh test
	@url="$$(deploy/scripts/test-postgres.sh)" && export TEST_DATABASE_URL="$$url" && \
	  go test -race -count=1 -timeout 20m $(MODULES)

# The enterprise layout of deploy/enterprise alone (e2e/enterprise_test.go): a
# three-node NATS cluster, PostgreSQL, Redis, two instances of every service
# behind a load balancer, faults under load. `make test` runs it too.
test-enterprise:
	@deploy/scripts/debian-deps.sh test
	cd e2e && go test -race -count=1 -timeout 10m -run 'TestEnterprise$$' -v .

# The release tests (CONTRIBUTING.md, "Releases"): the upgrade in place from the
# previous release (e2e/testdata/previous-release, built from its commit and
# kept in the user's cache dir), the rolling upgrade of the enterprise layout,
# then `make dist-check` (reproducible release files, the Debian packages
# installed and upgraded with dpkg, the Windows build under Wine). Run as root
# on Debian; .ci/run runs it after `make test`, which it would push past its
# time budget.
.PHONY: test-release
test-release: build
	@deploy/scripts/debian-deps.sh release
	@url="$$(deploy/scripts/test-postgres.sh)" && export TEST_DATABASE_URL="$$url" && \
	  cd e2e && E2E_BIN_DIR=$(CURDIR)/bin go test -tags release -count=1 -timeout 30m -run 'TestUpgradeInPlace|TestRollingUpgrade' -v .
	@$(MAKE) --no-print-directory dist-check

# A throwaway pilot on free ports in a temp home, the bench scenario against it
# (floor, API reads, heartbeats, jobs, schedules, failover; see docs/performance.md), then
# stopped and removed. About 8 minutes (BENCH_SCHEDULES=0: under 5); not part of
# `make test`.
bench: build
	go build -trimpath -ldflags "$(LDFLAGS)" -o bin/ github.com/exekra/hub/bench/cmd/exekra-loadgen
	deploy/scripts/bench.sh

GOLANGCI := $(shell go env GOPATH)/bin/golangci-lint
MODULE_DIRS := libs services/gateway services/identity services/licensing services/runners services/audit \
               agent pilot exekractl bench e2e

# gofmt, then golangci-lint per module with .golangci.yml: depguard makes the import
# direction a failing check (no service imports another, libs import no service, a
# domain package imports no adapter), plus vet, staticcheck, ineffassign, unused.
lint: lint-openapi
	@test -z "$$(gofmt -l $(MODULE_DIRS))" || { gofmt -l $(MODULE_DIRS); exit 1; }
	@test -x $(GOLANGCI) || go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
	@for m in $(MODULE_DIRS); do echo "lint $$m"; (cd $$m && $(GOLANGCI) run --config $(CURDIR)/.golangci.yml ./...) || exit 1; done

# The OpenAPI document the gateway serves (/api/v1/openapi.json), built from its
# route table by exekra-openapi, linted by Redocly CLI with redocly.yaml: 0 errors.
.PHONY: lint-openapi
lint-openapi:
	@mkdir -p bin
	go run ./services/gateway/cmd/exekra-openapi -o bin/openapi.json
	npx --yes @redocly/cli@2.77.0 lint --config redocly.yaml bin/openapi.json

clean:
	rm -rf bin

# Release files in dist/ (docs/operations.md, "Release packages"): the Hub and
# runner archives for linux/amd64, linux/arm64 and windows/amd64, the Debian
# packages, a CycloneDX SBOM each and SHA256SUMS, all reproducible (every
# timestamp is SOURCE_DATE_EPOCH, by default the last commit's time).
# deploy/dist is a module of its own, outside go.work, so nfpm and
# cyclonedx-gomod are no dependency of the product.
DIST_DIR ?= $(CURDIR)/dist
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct)
.PHONY: dist dist-check
dist:
	cd deploy/dist && SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) GOWORK=off \
	  go run . -root $(CURDIR) -out $(DIST_DIR) -version $(VERSION) -ldflags "$(LDFLAGS)" -packages "$(BINARIES)"

# `make dist` twice into temp dirs, compared byte for byte, and the archives,
# packages and SBOMs checked (deploy/dist/dist_test.go); then, as root, the
# Debian packages of two versions installed with dpkg, the Hub started, and
# upgraded with its data (deploy/dist/deb_install_test.go). A cold `make dist`
# takes minutes on a small machine, so `make test` leaves this out.
dist-check:
	cd deploy/dist && GOWORK=off go test -count=1 -timeout 75m -v .
