module github.com/exekra/hub/tools

go 1.26.8

require github.com/exekra/hub/libs v0.0.0

replace github.com/exekra/hub/libs => ../libs
