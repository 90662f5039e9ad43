module example.com/site-strategy

go 1.26.0

require github.com/NearNodeFlash/fence-gfs2-recorder/sdk v0.1.0

// Until the SDK is published (tags sdk/vX.Y.Z), build against a checkout of
// fence_gfs2_recorder: point this at its sdk directory, e.g.
//   go mod edit -replace github.com/NearNodeFlash/fence-gfs2-recorder/sdk=$HOME/src/fence-gfs2-recorder/sdk
// Inside that checkout, the template uses the SDK next to it:
replace github.com/NearNodeFlash/fence-gfs2-recorder/sdk => ../../sdk
