# nginx addon Makefile fragment of ngx_http_jwt_module, read by nginx's ./configure after it
# wrote objs/Makefile (see `config` for the variables set at configure time).
#
# Adds the rule that runs cargo for the Rust static library. The rule always runs (cargo
# knows best whether a source changed, and does nothing quickly otherwise), and the module
# (or nginx, with --add-module) is relinked after it.
#
# cargo runs without the C/linker flags of nginx's make (CFLAGS, CPPFLAGS, CXXFLAGS and
# LDFLAGS, which make exports when they came from the environment): they are nginx's flags,
# -Werror included, and they are not meant for the C code of the Rust crates (aws-lc).
# NGX_JWT_CFLAGS, when set in make's environment, becomes that code's CFLAGS instead
# (debian/rules passes Debian's hardening flags that way).

cat << END                                                        >> "$NGX_MAKEFILE"

# ngx_http_jwt_module (Rust): cargo builds $ngx_jwt_lib
.PHONY: $ngx_jwt_lib

$ngx_jwt_lib:
	env -u CFLAGS -u CPPFLAGS -u CXXFLAGS -u LDFLAGS \$\${NGX_JWT_CFLAGS:+CFLAGS="\$\$NGX_JWT_CFLAGS"} \\
		NGINX_BUILD_DIR="$ngx_jwt_objs" NGINX_SOURCE_DIR="$ngx_jwt_nginx_src" \\
		$NGX_CARGO rustc --lib --crate-type staticlib \\
		--manifest-path "$ngx_jwt_src/Cargo.toml" --locked --no-default-features \\
		--profile $ngx_jwt_profile --target-dir "$ngx_jwt_target_dir" $NGX_JWT_CARGO_ARGS

END

if [ "$ngx_jwt_link" = DYNAMIC ]; then
    # auto/module makes the module depend on its C objects only; it has none but the
    # generated module table, so name the library as a dependency too.
    cat << END                                                    >> "$NGX_MAKEFILE"
$NGX_OBJS${ngx_dirsep}ngx_http_jwt_module$ngx_modext:	$ngx_jwt_lib

END
fi
