# Runner self-test: --- ONLY runs that block alone (the others would fail if they ran).
use Test::Nginx::Socket 'no_plan';
run_tests();

__DATA__

=== TEST 1: SKIPPED because another block has ONLY
--- config
    location = /t { return 500; }
--- request
GET /t



=== TEST 2: the ONLY block runs and passes
--- ONLY
--- config
    location = /t { return 200 "only"; }
--- request
GET /t
--- response_body chomp
only



=== TEST 3: SKIPPED, a second ONLY does not run either
--- ONLY
--- config
    location = /t { return 500; }
--- request
GET /t
