// Command baseline is the yardstick for the HTTP benchmarks in
// docs/benchmarks.md: a trivial Gin handler that returns a fixed file_link
// JSON, served the same way as the real API (release mode, one route, no
// auth, no storage), and, with -file, net/http's ServeContent serving a
// local file at /file, the yardstick for downloads through public links.
// Measuring it in the same run as the service turns wrk's absolute
// numbers, which depend on the machine and on wrk sharing its two cores,
// into a ratio. It lives with the scripts that build it (http.sh,
// download.sh) because it is part of the benchmark, not of the product.
package main

import (
	"flag"
	"log"
	"net/http"
	"os"

	"github.com/gin-gonic/gin"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18090", "listen address")
	file := flag.String("file", "", "a local file to serve at /file with http.ServeContent")
	flag.Parse()
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	link := gin.H{
		"id": "link_1Mr23jLkdIwHu7ix65betcoo", "object": "file_link", "created": 1680108075,
		"expired": false, "expires_at": nil, "file": "file_1Mr23iLkdIwHu7ixQkCV3CBR", "livemode": false,
		"metadata": gin.H{"order_id": "6735"},
		"url":      "http://localhost:8080/links/TP2dhTHLAoh-4PtaM8anIbZiVMhBvWIgW0Fyu8Dba50",
	}
	handler := func(c *gin.Context) { c.JSON(http.StatusOK, link) }
	r.GET("/v1/file_links/:id", handler)
	r.POST("/v1/file_links", handler)
	mux := http.NewServeMux()
	mux.Handle("/v1/", r)
	mux.HandleFunc("/file", func(w http.ResponseWriter, req *http.Request) {
		f, err := os.Open(*file)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.ServeContent(w, req, st.Name(), st.ModTime(), f)
	})
	log.Fatal(http.ListenAndServe(*addr, mux))
}
