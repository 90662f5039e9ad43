module github.com/NearNodeFlash/fence-gfs2-recorder/sdk

go 1.26.0
