# Sourced by the side-by-side scripts (bench-vs-llamacpp, bench-load-vs-llamacpp, bench-server-vs-llamacpp,
# perplexity-vs-llamacpp) after their options are parsed: sets SWIFTLM (the release build, built if unset)
# and STORE, and defines resolve, a store name or .gguf path -> the GGUF file the two engines both load.
if [ -z "${SWIFTLM:-}" ]; then
    swift build -c release --product swiftlm >&2
    SWIFTLM="$(swift build -c release --show-bin-path)/swiftlm"
fi

STORE=${SWIFTLM_MODELS:-$HOME/.swiftlm/models}
resolve() { # name or path -> GGUF path (pulling through swiftlm if needed)
    case "$1" in
        */*|*.gguf) echo "$1"; return ;;
    esac
    local manifest="$STORE/manifests/$1.json"
    [ -f "$manifest" ] || "$SWIFTLM" pull "$1" >&2
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sys.argv[2]+"/blobs/"+d["digest"].replace(":","-"))' \
        "$manifest" "$STORE"
}
