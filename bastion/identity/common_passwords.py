"""A local list of very common passwords and password roots, written for Bastion.

This is **not** a breach corpus: it is a few hundred of the passwords and roots
that every public "most common passwords" ranking agrees on, so that the worst
choices are refused even on an air-gapped instance. A deployment that wants the
full breach check of ASVS V6.2.12 plugs a corpus-backed ``BreachCheck`` in
(``bastion/identity/ports.py``).

Entries are lower case. ``CommonPasswordList`` also matches a password whose
letters, once its leading and trailing digits and symbols are stripped, are one
of these roots ("Password2024!" is "password").
"""

from __future__ import annotations

_WORDS = """
    123456 1234567 12345678 123456789 1234567890 12345678910 123456789012
    1234567891 123123 123123123 123321 1234 12345 111111 1111111 11111111
    111111111111 000000 00000000 000000000000 121212 112233 123654 654321
    666666 696969 777777 7777777 888888 987654321 9876543210 159753 147258369
    147852369 123qwe 1q2w3e 1q2w3e4r 1q2w3e4r5t 1q2w3e4r5t6y 1qaz2wsx
    1qaz2wsx3edc qazwsx qazwsxedc zaq12wsx zaq1zaq1 zxcvbn zxcvbnm asdfgh
    asdfghjkl qwerty qwertyu qwertyui qwertyuiop qwerty123 qwerty1234
    qwerty123456 qwertyuiop123 qweasd qweasdzxc azerty azertyuiop abc123
    abcd1234 abcdef abcdefg abcdefgh abcdefghijkl a1b2c3 a1b2c3d4 aaaaaa
    aaaaaaaaaaaa password passw0rd p4ssw0rd pa55word pass pass123 password1
    password12 password123 password1234 passwordpassword pass1234 secret
    changeme changeit default admin admin123 administrator root toor
    letmein welcome welcome1 welcome123 login guest test test123 testing
    temp temp123 user master masterkey access access14 trustno1 iloveyou
    iloveyou1 loveme lovely love123 monkey dragon shadow sunshine princess
    football baseball basketball soccer hockey superman batman spiderman
    starwars pokemon naruto michael jennifer jordan jordan23 michelle
    charlie daniel jessica ashley hunter thomas robert matthew joshua andrew
    george maggie ginger summer freedom whatever trustme nothing
    computer internet hello hello123 hellohello killer cheese pepper
    cookie chocolate banana orange apple mustang ferrari porsche corvette
    harley yamaha mercedes jaguar tigger buster bailey daisy lucky
    snoopy sparky rocky ranger thunder silver golden diamond flower
    butterfly angel angels baby babygirl sweety sweetheart beautiful
    hottie sexy qwerty1 q1w2e3r4 q1w2e3r4t5 q1w2e3r4t5y6 zaq12wsxcde3
    987654 55555 555555 5555555 1212 1313 131313 232323 252525 101010
    202020 112358 7654321 0987654321 1111 2222 3333 4444 6969 9999
    999999 11223344 12344321 12341234 123456a 123456q a123456 aa123456
    qq123456 asd123 asdasd asdf asdf1234 asdfasdf zxc123 zxcvbnm123
    matrix merlin mickey minecraft fortnite roblox playstation xbox
    nintendo gaming gamer zelda mario ninja samurai warrior legend
    phoenix falcon eagle tiger lion wolf bear shark cobra viper
    liverpool chelsea arsenal barcelona realmadrid juventus manchester
    newyork london paris berlin madrid tokyo canada america
    december january february march april june july august september
    october november monday friday sunday weekend holiday christmas
    summer2024 winter spring autumn pumpkin chicken dolphin elephant
    jesus god heaven blessed faith grace
    qwertz qwertzuiop asdfg zxcvb poiuytrewq lkjhgfdsa mnbvcxz
    security secure service support office company business
    bastion bastion123 automation workflow server database
    letmein123 iloveyou123 welcome2024 changeme123 password2024
    password2023 password2025 password2026 passw0rd123 admin1234
    adminadmin rootroot useruser testtest guestguest demo demo123
    qwerty12 qwerty7 1qazxsw2 3edc4rfv 2wsx3edc 1234qwer 1234abcd
    abcd123 abc12345 abcabc abcabc123 aa12345678 asdqwe123 qweqwe
    qweqweqwe 123abc 123asd 123zxc 1qaz1qaz 1q1q1q1q a1234567
    iloveu ihateyou fuckyou fuckoff shit bitch asshole
"""

COMMON_PASSWORDS: frozenset[str] = frozenset(_WORDS.split())
